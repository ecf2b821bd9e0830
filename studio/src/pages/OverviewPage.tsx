import { Code, SegmentedControl, Table, Text } from "@mantine/core";
import { IconChartBar } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "@/api/client";
import { eventVolumeQuery, profileCountQuery, quarantineQuery, sourcesQuery } from "@/api/queries";
import { overviewRoute } from "@/app/router";
import { SERIES } from "@/app/theme";
import { Chart, type ChartOption } from "@/components/Chart";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Kpi, KpiGrid } from "@/components/Kpi";
import { Loading } from "@/components/Loading";
import { AnchorLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import type { Format } from "@/i18n/format";

const PERIODS = [7, 30, 90] as const;

function volumeChart(volume: Schemas["EventVolume"], fmt: Format): ChartOption {
  return {
    color: [...SERIES],
    grid: { left: 8, right: 8, top: 16, bottom: 48, containLabel: true },
    legend: { bottom: 0, type: "scroll", icon: "roundRect" },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      valueFormatter: (value: unknown) => fmt.integer(Number(value)),
    },
    xAxis: {
      type: "category",
      data: volume.days.map((d) => d.day),
      axisLabel: { formatter: (value: string) => fmt.shortDay(value), hideOverlap: true },
      axisTick: { alignWithLabel: true },
    },
    yAxis: {
      type: "value",
      axisLabel: { formatter: (value: number) => fmt.integer(value) },
      splitLine: { lineStyle: { color: "#e9ecef" } },
    },
    series: volume.sources.map((source) => ({
      name: source.name,
      type: "bar",
      stack: "events",
      barMaxWidth: 28,
      data: volume.days.map((d) => d.by_source[source.source_id] ?? 0),
    })),
  };
}

export function OverviewPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const days = overviewRoute.useSearch().days ?? 30;
  const navigate = useNavigate({ from: overviewRoute.fullPath });
  const profiles = useQuery(profileCountQuery);
  const volume = useQuery(eventVolumeQuery(days));
  const recent = useQuery(quarantineQuery(undefined, 8));
  const sources = useQuery(sourcesQuery);
  const names = useMemo(
    () => new Map((sources.data ?? []).map((s) => [s.id, s.name])),
    [sources.data],
  );
  const option = useMemo(
    () => (volume.data ? volumeChart(volume.data, fmt) : null),
    [volume.data, fmt],
  );
  const ready = profiles.isSuccess && volume.isSuccess && recent.isSuccess;
  const v = volume.data;

  return (
    <Page title={t("overview.title")} ready={ready}>
      {profiles.isError || volume.isError ? (
        <ErrorNotice
          error={profiles.error ?? volume.error}
          retry={() => {
            void profiles.refetch();
            void volume.refetch();
          }}
        />
      ) : (
        <KpiGrid>
          <Kpi
            name="profiles"
            label={t("overview.profiles")}
            value={profiles.data ? fmt.integer(profiles.data.profiles) : "…"}
            hint={t("overview.profilesHint")}
          />
          <Kpi
            name="events"
            label={t("overview.events")}
            value={v ? fmt.integer(v.events) : "…"}
            hint={t("overview.eventsHint")}
          />
          <Kpi
            name="period"
            label={t("overview.lastDays", { count: days })}
            value={v ? fmt.integer(v.period_total) : "…"}
            hint={
              v
                ? t("overview.lastDay", {
                    count: v.events_last_day,
                    value: fmt.integer(v.events_last_day),
                  })
                : ""
            }
          />
          <Kpi
            name="quarantined"
            label={t("overview.quarantined")}
            value={v ? fmt.integer(v.quarantined) : "…"}
            hint={t("overview.quarantinedHint")}
            warn={!!v && v.quarantined > 0}
          />
        </KpiGrid>
      )}

      <Section
        id="volume"
        title={t("overview.volume")}
        hint={
          v
            ? t("overview.volumeHint", { from: fmt.day(v.first_day), to: fmt.day(v.last_day) })
            : undefined
        }
        actions={
          <SegmentedControl
            size="xs"
            aria-label={t("overview.period")}
            value={String(days)}
            onChange={(value) =>
              void navigate({ search: { days: Number(value) as (typeof PERIODS)[number] } })
            }
            data={PERIODS.map((n) => ({
              value: String(n),
              label: t("overview.days", { count: n }),
            }))}
          />
        }
      >
        {volume.isPending ? (
          <Loading lines={6} />
        ) : volume.isError ? (
          <ErrorNotice error={volume.error} retry={() => void volume.refetch()} />
        ) : v && v.period_total > 0 && option ? (
          <Chart
            option={option}
            height={300}
            label={t("overview.chartLabel", {
              from: fmt.day(v.first_day),
              to: fmt.day(v.last_day),
              total: fmt.integer(v.period_total),
            })}
          />
        ) : (
          <Empty icon={<IconChartBar size={22} />}>
            {t("overview.noEvents", { count: days })} <Code>{t("overview.demoCommand")}</Code>
          </Empty>
        )}
      </Section>

      <Section
        id="recent-quarantine"
        title={
          <AnchorLink to="/quarantine" inherit>
            {t("overview.recentQuarantine")}
          </AnchorLink>
        }
        hint={t("overview.recentQuarantineHint")}
      >
        {recent.isPending ? (
          <Loading />
        ) : recent.isError ? (
          <ErrorNotice error={recent.error} retry={() => void recent.refetch()} />
        ) : recent.data.items.length === 0 ? (
          <Empty>{t("quarantine.empty")}</Empty>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("quarantine.received")}</Table.Th>
                  <Table.Th>{t("quarantine.source")}</Table.Th>
                  <Table.Th>{t("quarantine.reason")}</Table.Th>
                  <Table.Th>{t("quarantine.field")}</Table.Th>
                  <Table.Th>{t("quarantine.origin")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {recent.data.items.map((q) => (
                  <Table.Tr key={q.id}>
                    <Table.Td className="nowrap">{fmt.dateTime(q.received_at)}</Table.Td>
                    <Table.Td>
                      <Tag>{(q.source_id && names.get(q.source_id)) ?? "—"}</Tag>
                    </Table.Td>
                    <Table.Td>{q.reason}</Table.Td>
                    <Table.Td>{q.field ? <Code>{q.field}</Code> : "—"}</Table.Td>
                    <Table.Td>
                      <Text size="sm" c="dimmed">
                        {q.origin}
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
