import { Code, Group, Table, Text } from "@mantine/core";
import { IconShieldCheck } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { quarantineQuery, sourcesQuery } from "@/api/queries";
import { quarantineRoute } from "@/app/router";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { ButtonLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";

export function QuarantinePage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { cursor } = quarantineRoute.useSearch();
  const items = useQuery(quarantineQuery(cursor));
  const sources = useQuery(sourcesQuery);
  const names = useMemo(
    () => new Map((sources.data ?? []).map((s) => [s.id, s.name])),
    [sources.data],
  );
  return (
    <Page title={t("quarantine.title")} ready={items.isSuccess}>
      <Section id="quarantine" title={t("quarantine.heading")} hint={t("quarantine.hint")}>
        {items.isPending ? (
          <Loading lines={8} />
        ) : items.isError ? (
          <ErrorNotice error={items.error} retry={() => void items.refetch()} />
        ) : items.data.items.length === 0 ? (
          <Empty icon={<IconShieldCheck size={22} />}>
            {cursor ? t("quarantine.noOlder") : t("quarantine.empty")}
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={900}>
            <Table data-table="quarantine">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("quarantine.received")}</Table.Th>
                  <Table.Th>{t("quarantine.source")}</Table.Th>
                  <Table.Th>{t("quarantine.origin")}</Table.Th>
                  <Table.Th className="num">{t("quarantine.position")}</Table.Th>
                  <Table.Th>{t("quarantine.reason")}</Table.Th>
                  <Table.Th>{t("quarantine.field")}</Table.Th>
                  <Table.Th>{t("quarantine.message")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.data.items.map((q) => (
                  <Table.Tr key={q.id}>
                    <Table.Td className="nowrap">{fmt.dateTime(q.received_at)}</Table.Td>
                    <Table.Td>
                      <Tag>{(q.source_id && names.get(q.source_id)) ?? "—"}</Tag>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" c="dimmed">
                        {q.origin}
                      </Text>
                    </Table.Td>
                    <Table.Td className="num">{q.position ?? "—"}</Table.Td>
                    <Table.Td>{q.reason}</Table.Td>
                    <Table.Td>{q.field ? <Code>{q.field}</Code> : "—"}</Table.Td>
                    <Table.Td>
                      <details>
                        <summary>
                          <Text size="sm" c="brand.7" span>
                            {t("quarantine.show")}
                          </Text>
                        </summary>
                        <pre className="payload">{q.payload}</pre>
                      </details>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {items.data && (cursor || items.data.next_cursor) && (
          <Group mt="md" gap="sm">
            {cursor && (
              <ButtonLink
                to="/quarantine"
                search={{ cursor: undefined }}
                variant="default"
                size="xs"
              >
                {t("quarantine.newest")}
              </ButtonLink>
            )}
            {items.data.next_cursor && (
              <ButtonLink
                to="/quarantine"
                search={{ cursor: items.data.next_cursor }}
                variant="light"
                size="xs"
              >
                {t("quarantine.older")}
              </ButtonLink>
            )}
          </Group>
        )}
      </Section>
    </Page>
  );
}
