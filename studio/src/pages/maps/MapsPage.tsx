import { Code, Table, Text } from "@mantine/core";
import { IconMap2 } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { mapsQuery, taxonomyQuery } from "@/api/queries";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { AnchorLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { useFormat } from "@/i18n";
import { MapStatus } from "./labels";

export function MapsPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const maps = useQuery(mapsQuery);
  const taxonomy = useQuery(taxonomyQuery);
  const stageNames = useMemo(
    () => new Map((taxonomy.data?.stages ?? []).map((s) => [s.key, s.name])),
    [taxonomy.data],
  );
  return (
    <Page title={t("maps.title")} ready={maps.isSuccess && taxonomy.isSuccess}>
      <Section id="maps" title={t("maps.heading")} hint={t("maps.hint")}>
        {maps.isPending ? (
          <Loading lines={5} />
        ) : maps.isError ? (
          <ErrorNotice error={maps.error} retry={() => void maps.refetch()} />
        ) : maps.data.length === 0 ? (
          <Empty icon={<IconMap2 size={22} />}>
            {t("maps.empty")} <Code>{t("maps.importCommand")}</Code>
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={960}>
            <Table data-table="maps">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("maps.map")}</Table.Th>
                  <Table.Th>{t("maps.stages")}</Table.Th>
                  <Table.Th className="num">{t("maps.touchpoints")}</Table.Th>
                  <Table.Th>{t("maps.owner")}</Table.Th>
                  <Table.Th>{t("maps.status")}</Table.Th>
                  <Table.Th className="num">{t("maps.version")}</Table.Th>
                  <Table.Th>{t("maps.updated")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {maps.data.map((m) => {
                  const d = m.document;
                  const facets = (["market", "segment", "persona"] as const).filter((f) => d[f]);
                  return (
                    <Table.Tr key={d.key} data-map={d.key}>
                      <Table.Td>
                        <AnchorLink to="/maps/$key" params={{ key: d.key }} fw={600} size="sm">
                          {d.name}
                        </AnchorLink>
                        <Text size="xs" c="dimmed">
                          <Code>{d.key}</Code>
                          {facets.map((f) => (
                            <span key={f}> · {t(`maps.${f}`, { value: d[f] })}</span>
                          ))}
                          {d.parent && (
                            <>
                              {" · "}
                              {t("maps.partOf")}{" "}
                              <AnchorLink to="/maps/$key" params={{ key: d.parent }} size="xs">
                                {d.parent}
                              </AnchorLink>
                            </>
                          )}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">
                          {(d.stages ?? []).length === 0
                            ? t("maps.noStages")
                            : (d.stages ?? [])
                                .map((s) => stageNames.get(s.key) ?? s.key)
                                .join(" → ")}
                        </Text>
                      </Table.Td>
                      <Table.Td className="num" data-count="touchpoints">
                        {fmt.integer(
                          (d.stages ?? []).reduce((n, s) => n + (s.touchpoints ?? []).length, 0),
                        )}
                      </Table.Td>
                      <Table.Td>{d.owner || "—"}</Table.Td>
                      <Table.Td className="nowrap">
                        <MapStatus status={d.status ?? "draft"} state={d.state ?? "as_is"} />
                      </Table.Td>
                      <Table.Td className="num">{m.version}</Table.Td>
                      <Table.Td className="nowrap">
                        <Text size="sm" c="dimmed" span>
                          {fmt.dateTime(m.updated_at)}
                        </Text>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Section>
    </Page>
  );
}
