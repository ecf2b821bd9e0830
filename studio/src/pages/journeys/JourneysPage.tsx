import { Button, Code, Group, Modal, Stack, Table, Text, TextInput } from "@mantine/core";
import { IconPlus, IconRoute } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { journeyHeadlinesQuery, journeysQuery, sessionQuery } from "@/api/queries";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { AnchorLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import { JOURNEY_KEY, keyFromName } from "./canvas/document";
import { JourneyStatus } from "./status";

/** Name a new journey and choose its key, then build it on the canvas. */
function NewJourney({ taken }: { taken: Set<string> }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState("");
  const [key, setKey] = useState("");
  const [keyEdited, setKeyEdited] = useState(false);
  const [tried, setTried] = useState(false);
  const shownKey = keyEdited ? key : keyFromName(name);
  const nameError = tried && !name.trim() ? t("journeys.nameRequired") : undefined;
  const keyError =
    shownKey && !JOURNEY_KEY.test(shownKey)
      ? t("journeys.keyInvalid")
      : taken.has(shownKey)
        ? t("journeys.keyTaken")
        : tried && !shownKey
          ? t("journeys.keyInvalid")
          : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (!name.trim() || !shownKey || !JOURNEY_KEY.test(shownKey) || taken.has(shownKey)) return;
    void navigate({
      to: "/journeys/$key/canvas",
      params: { key: shownKey },
      search: { name: name.trim(), view: "edit" },
    });
  };
  return (
    <>
      <Button
        size="sm"
        leftSection={<IconPlus size={16} aria-hidden="true" />}
        onClick={() => setOpened(true)}
        data-action="new-journey"
      >
        {t("journeys.newJourney")}
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title={t("journeys.newTitle")}>
        <form onSubmit={submit} noValidate>
          <Stack gap="sm">
            <TextInput
              label={t("journeys.newName")}
              description={t("journeys.newNameHint")}
              value={name}
              onChange={(event) => setName(event.currentTarget.value)}
              error={nameError}
              required
              data-autofocus
              data-field="new-name"
            />
            <TextInput
              label={t("journeys.newKey")}
              description={t("journeys.newKeyHint")}
              value={shownKey}
              onChange={(event) => {
                setKeyEdited(true);
                setKey(event.currentTarget.value);
              }}
              error={keyError}
              required
              data-field="new-key"
            />
            <Group justify="flex-end" gap="xs">
              <Button variant="default" onClick={() => setOpened(false)}>
                {t("journeys.cancel")}
              </Button>
              <Button type="submit">{t("journeys.create")}</Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}

export function JourneysPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const journeys = useQuery(journeysQuery);
  const headlines = useQuery(journeyHeadlinesQuery);
  const session = useQuery(sessionQuery);
  const canEdit = (session.data?.permissions ?? []).includes("journeys.edit");
  const taken = useMemo(() => new Set((journeys.data ?? []).map((j) => j.key)), [journeys.data]);
  const figures = useMemo(
    () => new Map((headlines.data ?? []).map((k) => [k.journey_id, k])),
    [headlines.data],
  );
  const pct = (value: number | null | undefined) => (value == null ? "—" : fmt.percent(value));

  return (
    <Page title={t("journeys.title")} ready={journeys.isSuccess && !headlines.isPending}>
      <Section
        id="journeys"
        title={t("journeys.heading")}
        hint={t("journeys.hint")}
        actions={canEdit ? <NewJourney taken={taken} /> : undefined}
      >
        {journeys.isPending ? (
          <Loading lines={6} />
        ) : journeys.isError ? (
          <ErrorNotice error={journeys.error} retry={() => void journeys.refetch()} />
        ) : journeys.data.length === 0 ? (
          <Empty icon={<IconRoute size={22} />}>
            {t("journeys.empty")} <Code>{t("journeys.publishCommand")}</Code>
          </Empty>
        ) : (
          <>
            {headlines.isError && (
              <ErrorNotice error={headlines.error} retry={() => void headlines.refetch()} />
            )}
            <Table.ScrollContainer minWidth={1040}>
              <Table data-table="journeys">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t("journeys.journey")}</Table.Th>
                    <Table.Th>{t("journeys.status")}</Table.Th>
                    <Table.Th className="num">{t("journeys.version")}</Table.Th>
                    <Table.Th>{t("journeys.testMode")}</Table.Th>
                    <Table.Th className="num">{t("kpi.entered")}</Table.Th>
                    <Table.Th className="num">{t("kpi.active")}</Table.Th>
                    <Table.Th className="num">{t("kpi.converted")}</Table.Th>
                    <Table.Th className="num">{t("kpi.conversionRate")}</Table.Th>
                    <Table.Th className="num">{t("kpi.successProbability")}</Table.Th>
                    <Table.Th className="num">{t("kpi.expectedConversions")}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {journeys.data.map((j) => {
                    const k = figures.get(j.id);
                    return (
                      <Table.Tr key={j.id} data-journey={j.key}>
                        <Table.Td>
                          <AnchorLink
                            to="/journeys/$key"
                            params={{ key: j.key }}
                            fw={600}
                            size="sm"
                          >
                            {j.name}
                          </AnchorLink>
                          <Text size="xs" c="dimmed">
                            <Code>{j.key}</Code> ·{" "}
                            <AnchorLink
                              to="/journeys/$key/canvas"
                              params={{ key: j.key }}
                              search={{ view: "edit" }}
                              size="xs"
                              underline="always"
                              aria-label={`${t("journeys.edit")}: ${j.name}`}
                            >
                              {t("journeys.edit")}
                            </AnchorLink>
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <JourneyStatus status={j.status} />
                        </Table.Td>
                        <Table.Td className="num">{j.latest_version ?? "—"}</Table.Td>
                        <Table.Td>
                          {j.test_mode ? (
                            <Tag tone="warn">{t("journeys.testModeOn")}</Tag>
                          ) : (
                            <Text size="sm" c="dimmed" span>
                              {t("journeys.testModeOff")}
                            </Text>
                          )}
                        </Table.Td>
                        {j.latest_version == null ? (
                          <Table.Td colSpan={6} className="num">
                            <Text size="sm" c="dimmed" span>
                              {t("journeys.notPublished")}
                            </Text>
                          </Table.Td>
                        ) : k ? (
                          <>
                            <Table.Td className="num" data-kpi="entered">
                              {fmt.integer(k.entered)}
                            </Table.Td>
                            <Table.Td className="num" data-kpi="active">
                              {fmt.integer(k.active)}
                            </Table.Td>
                            <Table.Td className="num" data-kpi="converted">
                              {fmt.integer(k.converted)}
                            </Table.Td>
                            <Table.Td className="num" data-kpi="conversion_rate">
                              {pct(k.conversion_rate)}
                            </Table.Td>
                            <Table.Td className="num" data-kpi="success_probability">
                              {pct(k.success_probability)}
                            </Table.Td>
                            <Table.Td className="num" data-kpi="expected_conversions">
                              {k.expected_conversions == null
                                ? "—"
                                : fmt.decimal(k.expected_conversions, 1)}
                            </Table.Td>
                          </>
                        ) : (
                          <Table.Td colSpan={6} className="num">
                            <Text size="sm" c="dimmed" span>
                              {headlines.isPending ? t("states.loading") : "—"}
                            </Text>
                          </Table.Td>
                        )}
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </>
        )}
      </Section>
    </Page>
  );
}
