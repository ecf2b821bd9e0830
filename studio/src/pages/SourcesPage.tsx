import { ActionIcon, Code, CopyButton, Group, Table, Text, Tooltip } from "@mantine/core";
import { IconCheck, IconCopy, IconEye, IconEyeOff, IconKey } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { sourcesQuery } from "@/api/queries";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { useFormat } from "@/i18n";

function WriteKey({ value, source }: { value: string; source: string }) {
  const { t } = useTranslation();
  const [shown, setShown] = useState(false);
  return (
    <Group gap={6} wrap="nowrap">
      <Code data-write-key={shown ? "shown" : "masked"}>
        {shown ? value : `••••••••••••${value.slice(-4)}`}
      </Code>
      <Tooltip label={shown ? t("sources.hide") : t("sources.show")}>
        <ActionIcon
          variant="subtle"
          color="gray"
          aria-label={shown ? t("sources.hideKey", { source }) : t("sources.showKey", { source })}
          aria-pressed={shown}
          onClick={() => setShown((s) => !s)}
        >
          {shown ? <IconEyeOff size={16} /> : <IconEye size={16} />}
        </ActionIcon>
      </Tooltip>
      <CopyButton value={value}>
        {({ copied, copy }) => (
          <Tooltip label={copied ? t("sources.copied") : t("sources.copy")}>
            <ActionIcon
              variant="subtle"
              color={copied ? "teal" : "gray"}
              aria-label={t("sources.copyKey", { source })}
              onClick={copy}
            >
              {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
            </ActionIcon>
          </Tooltip>
        )}
      </CopyButton>
    </Group>
  );
}

export function SourcesPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const sources = useQuery(sourcesQuery);
  return (
    <Page title={t("sources.title")} ready={sources.isSuccess}>
      <Section
        id="sources"
        title={t("sources.heading")}
        hint={
          <>
            {t("sources.hint")} <Code>{t("sources.trackPath")}</Code>
          </>
        }
      >
        {sources.isPending ? (
          <Loading />
        ) : sources.isError ? (
          <ErrorNotice error={sources.error} retry={() => void sources.refetch()} />
        ) : sources.data.length === 0 ? (
          <Empty icon={<IconKey size={22} />}>
            {t("sources.empty")} <Code>{t("sources.createCommand")}</Code>
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table data-table="sources">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("sources.name")}</Table.Th>
                  <Table.Th>{t("sources.id")}</Table.Th>
                  <Table.Th>{t("sources.writeKey")}</Table.Th>
                  <Table.Th>{t("sources.created")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {sources.data.map((s) => (
                  <Table.Tr key={s.id} data-source={s.name}>
                    <Table.Td fw={600}>{s.name}</Table.Td>
                    <Table.Td>
                      <Code>{s.id}</Code>
                    </Table.Td>
                    <Table.Td>
                      {s.write_key ? (
                        <WriteKey value={s.write_key} source={s.name} />
                      ) : (
                        <Text size="sm" c="dimmed">
                          {t("sources.hidden")}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td className="nowrap">
                      <Text size="sm" c="dimmed" span>
                        {fmt.dateTime(s.created_at)}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Section>
    </Page>
  );
}
