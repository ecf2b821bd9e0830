import { Code, Table, Text } from "@mantine/core";
import { IconRoute } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { journeyHeadlinesQuery, journeysQuery } from "@/api/queries";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { AnchorLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import { JourneyStatus } from "./status";

export function JourneysPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const journeys = useQuery(journeysQuery);
  const headlines = useQuery(journeyHeadlinesQuery);
  const figures = useMemo(
    () => new Map((headlines.data ?? []).map((k) => [k.journey_id, k])),
    [headlines.data],
  );
  const pct = (value: number | null | undefined) => (value == null ? "—" : fmt.percent(value));

  return (
    <Page title={t("journeys.title")} ready={journeys.isSuccess && !headlines.isPending}>
      <Section id="journeys" title={t("journeys.heading")} hint={t("journeys.hint")}>
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
                            <Code>{j.key}</Code>
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
