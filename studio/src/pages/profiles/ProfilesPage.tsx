import { Button, Code, Group, Table, Text, TextInput } from "@mantine/core";
import { IconSearch, IconUsers } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { profileSearchQuery } from "@/api/queries";
import { profilesRoute } from "@/app/router";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { Page } from "@/components/Page";
import { Person } from "@/components/Person";
import { Section } from "@/components/Section";
import { useFormat } from "@/i18n";

export function ProfilesPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const q = profilesRoute.useSearch().q ?? "";
  const query = q.trim();
  const navigate = useNavigate({ from: profilesRoute.fullPath });
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const found = useQuery(profileSearchQuery(query));

  // one match for an identifier: that is the person asked for
  const only = query && found.data?.length === 1 ? found.data[0] : undefined;
  useEffect(() => {
    if (only) {
      void navigate({
        to: "/profiles/$profileId",
        params: { profileId: only.id },
        search: { before: undefined },
        replace: true,
      });
    }
  }, [only, navigate]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void navigate({ search: { q: text.trim() } });
  };

  return (
    <Page title={t("profiles.title")} ready={found.isSuccess && !only}>
      <search>
        <form onSubmit={submit} aria-label={t("profiles.searchLabel")}>
          <Group align="flex-end" gap="sm">
            <TextInput
              style={{ flex: 1, maxWidth: 520 }}
              label={t("profiles.searchLabel")}
              description={t("profiles.searchHint")}
              value={text}
              onChange={(event) => setText(event.currentTarget.value)}
              leftSection={<IconSearch size={16} aria-hidden="true" />}
              name="q"
            />
            <Button type="submit">{t("profiles.search")}</Button>
          </Group>
        </form>
      </search>
      <Section
        id="profiles"
        title={query ? t("profiles.results", { query }) : t("profiles.recent")}
      >
        {found.isPending || only ? (
          <Loading lines={6} />
        ) : found.isError ? (
          <ErrorNotice error={found.error} retry={() => void found.refetch()} />
        ) : found.data.length === 0 ? (
          <Empty icon={<IconUsers size={22} />}>
            {query ? t("profiles.noMatch", { query }) : t("profiles.none")}
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table data-table="profiles">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("profiles.name")}</Table.Th>
                  <Table.Th>{t("profiles.email")}</Table.Th>
                  <Table.Th>{t("profiles.userId")}</Table.Th>
                  <Table.Th className="num">{t("profiles.events")}</Table.Th>
                  <Table.Th>{t("profiles.lastSeen")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {found.data.map((p) => (
                  <Table.Tr key={p.id} data-profile={p.id}>
                    <Table.Td>
                      <Person id={p.id} name={p.name} />
                    </Table.Td>
                    <Table.Td>{p.email ?? "—"}</Table.Td>
                    <Table.Td>{p.user_id ? <Code>{p.user_id}</Code> : "—"}</Table.Td>
                    <Table.Td className="num">
                      {p.event_count == null ? "—" : fmt.integer(p.event_count)}
                    </Table.Td>
                    <Table.Td className="nowrap">
                      <Text size="sm" c="dimmed" span>
                        {p.last_seen_at ? fmt.dateTime(p.last_seen_at) : "—"}
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
