import {
  Avatar,
  Blockquote,
  Card,
  Code,
  Grid,
  Group,
  List,
  SimpleGrid,
  Stack,
  Text,
  ThemeIcon,
  Title,
} from "@mantine/core";
import {
  IconDeviceMobile,
  IconEye,
  IconFileText,
  IconMail,
  IconMessage,
  IconPoint,
  IconShoppingCart,
  IconStar,
  IconUser,
} from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type ComponentType, useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "@/api/client";
import { profileQuery, sourcesQuery, timelineQuery } from "@/api/queries";
import { profileRoute } from "@/app/router";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Kpi } from "@/components/Kpi";
import { Loading } from "@/components/Loading";
import { ButtonLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import { describeEvent, type EventIcon, traitValue } from "./timeline";

const ICONS: Record<EventIcon, ComponentType<{ size?: number }>> = {
  identify: IconUser,
  page: IconFileText,
  screen: IconDeviceMobile,
  cart: IconShoppingCart,
  mail: IconMail,
  chat: IconMessage,
  star: IconStar,
  eye: IconEye,
  dot: IconPoint,
};
const SENTIMENT_TONE = { positive: "good", neutral: "neutral", negative: "bad" } as const;
/** Computed traits worth a card of their own. */
const HEADLINE = ["event_count", "order_count", "revenue", "last_channel"] as const;
const KNOWN_COMPUTED = new Set([...HEADLINE, "first_seen", "last_seen"]);
const KNOWN_IDENTITIES = new Set(["user_id", "email", "anonymous_id", "phone"]);

function Facts({ entries }: { entries: [string, string][] }) {
  return (
    <Stack gap={6} component="dl" m={0}>
      {entries.map(([key, value]) => (
        <Group key={key} gap="xs" align="baseline" wrap="nowrap">
          <Text
            component="dt"
            size="sm"
            c="dimmed"
            miw={120}
            maw={160}
            style={{ overflowWrap: "anywhere" }}
          >
            {key}
          </Text>
          <Text component="dd" size="sm" m={0} style={{ overflowWrap: "anywhere" }}>
            {value}
          </Text>
        </Group>
      ))}
    </Stack>
  );
}

function Timeline({ profile }: { profile: Schemas["Profile"] }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { before } = profileRoute.useSearch();
  const events = useQuery(timelineQuery(profile.id, before));
  const sources = useQuery(sourcesQuery);
  const names = useMemo(
    () => new Map((sources.data ?? []).map((s) => [s.id, s.name])),
    [sources.data],
  );
  const zone = profile.timezone;
  return (
    <Section
      id="timeline"
      title={t("profile.timeline")}
      hint={t("profile.timelineHint", { zone: zone ?? t("common.utc") })}
    >
      {events.isPending ? (
        <Loading lines={8} />
      ) : events.isError ? (
        <ErrorNotice error={events.error} retry={() => void events.refetch()} />
      ) : events.data.items.length === 0 ? (
        <Empty>{before ? t("profile.noOlderEvents") : t("profile.noEvents")}</Empty>
      ) : (
        <Stack
          gap={0}
          component="ol"
          p={0}
          m={0}
          data-timeline="true"
          style={{ listStyle: "none" }}
        >
          {events.data.items.map((event) => {
            const entry = describeEvent(event, t, fmt);
            const Icon = ICONS[entry.icon];
            return (
              <Group
                key={event.seq}
                component="li"
                align="flex-start"
                wrap="nowrap"
                gap="sm"
                py="sm"
                style={{ borderBottom: "1px solid var(--mantine-color-gray-2)" }}
                data-event={event.type}
              >
                <ThemeIcon variant="light" radius="xl" size="md" color="brand" aria-hidden="true">
                  <Icon size={16} />
                </ThemeIcon>
                <Stack gap={4} style={{ flex: 1, minWidth: 0 }}>
                  <Group gap="xs" wrap="wrap">
                    <Text fw={600} size="sm" data-event-name="true">
                      {entry.title}
                    </Text>
                    <Tag size="sm">{names.get(event.source_id) ?? "—"}</Tag>
                    {entry.sentiment && (
                      <Tag
                        size="sm"
                        tone={SENTIMENT_TONE[entry.sentiment]}
                        data-sentiment={entry.sentiment}
                      >
                        {t(`sentiment.${entry.sentiment}`)}
                      </Tag>
                    )}
                    <Text component="time" dateTime={event.timestamp} size="xs" c="dimmed">
                      {fmt.dateTime(event.timestamp, zone, true)}
                    </Text>
                  </Group>
                  {entry.summary.length > 0 && (
                    <Text size="sm" c="dimmed">
                      {entry.summary.join(" · ")}
                    </Text>
                  )}
                  {entry.text && (
                    <Blockquote p="xs" color="gray" fz="sm" iconSize={0}>
                      {entry.text}
                    </Blockquote>
                  )}
                </Stack>
              </Group>
            );
          })}
        </Stack>
      )}
      {events.data && (before || events.data.next_cursor) && (
        <Group mt="md" gap="sm">
          {before && (
            <ButtonLink
              to="/profiles/$profileId"
              params={{ profileId: profile.id }}
              search={{ before: undefined }}
              variant="default"
              size="xs"
            >
              {t("profile.newest")}
            </ButtonLink>
          )}
          {events.data.next_cursor && (
            <ButtonLink
              to="/profiles/$profileId"
              params={{ profileId: profile.id }}
              search={{ before: events.data.next_cursor }}
              variant="light"
              size="xs"
            >
              {t("profile.older")}
            </ButtonLink>
          )}
        </Group>
      )}
    </Section>
  );
}

export function ProfilePage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { profileId } = profileRoute.useParams();
  const navigate = useNavigate();
  const { before } = profileRoute.useSearch();
  const profile = useQuery(profileQuery(profileId));
  const events = useQuery(timelineQuery(profileId, before));
  const p = profile.data;

  // a merged-away id: show the person under the id they live on now
  const survivor = p && p.id !== profileId ? p.id : null;
  useEffect(() => {
    if (survivor) {
      void navigate({
        to: "/profiles/$profileId",
        params: { profileId: survivor },
        search: { before: undefined },
        replace: true,
      });
    }
  }, [survivor, navigate]);

  const crumbs = [{ label: t("profiles.title"), to: "/profiles" }];
  if (profile.isError || !p || survivor) {
    return (
      <Page title={t("profile.title")} crumbs={crumbs} ready={profile.isError}>
        {profile.isError ? (
          <ErrorNotice
            error={profile.error}
            notFound={t("profile.notFound", { id: profileId })}
            back={{ to: "/profiles", label: t("profile.backToProfiles") }}
            retry={() => void profile.refetch()}
          />
        ) : (
          <Loading lines={8} />
        )}
      </Page>
    );
  }

  const name = (() => {
    const traits = (p.traits ?? {}) as Record<string, unknown>;
    const full = [traits.first_name, traits.last_name].filter(Boolean).join(" ");
    return full || (traits.name as string) || (traits.email as string) || t("profile.anonymous");
  })();
  const zone = p.timezone;
  const computed = (p.computed ?? {}) as Record<string, unknown>;
  const traitMap = (p.traits ?? {}) as Record<string, unknown>;
  const email = traitMap.email;
  // revenue is summed in the shop's currency; a person's currency trait names it
  const currency = typeof traitMap.currency === "string" ? traitMap.currency : null;
  const identities = Object.entries(p.identities ?? {}).flatMap(([kind, values]) =>
    values.map((value) => ({ kind, value })),
  );
  const kindLabel = (kind: string) =>
    KNOWN_IDENTITIES.has(kind)
      ? t(`identity.${kind as "user_id" | "email" | "anonymous_id" | "phone"}`)
      : kind.startsWith("external:")
        ? t("identity.external", { name: kind.slice(9) })
        : kind;
  const computedLabel = (key: string) =>
    KNOWN_COMPUTED.has(key as never) ? t(`computed.${key as "event_count"}`) : key;

  return (
    <Page title={name} crumbs={crumbs} ready={!events.isPending}>
      <Card>
        <Group gap="md" wrap="wrap" align="center">
          <Avatar size="lg" radius="xl" color="brand" variant="light" aria-hidden="true">
            {name.slice(0, 1).toUpperCase()}
          </Avatar>
          <Stack gap={2} style={{ flex: 1, minWidth: 220 }}>
            <Title order={2} fz="lg" data-profile-name="true">
              {name}
              {p.is_test && (
                <Tag ml="xs" tone="warn">
                  {t("profile.testProfile")}
                </Tag>
              )}
            </Title>
            <Text size="sm" c="dimmed">
              {[typeof email === "string" ? email : null, p.locale, zone]
                .filter(Boolean)
                .join(" · ")}
              {" · "}
              <Code>{p.id}</Code>
            </Text>
          </Stack>
          <SimpleGrid cols={2} spacing="lg">
            <div>
              <Text size="xs" c="dimmed">
                {t("profile.firstSeen")}
              </Text>
              <Text size="sm">{p.first_seen_at ? fmt.dateTime(p.first_seen_at, zone) : "—"}</Text>
            </div>
            <div>
              <Text size="xs" c="dimmed">
                {t("profile.lastSeen")}
              </Text>
              <Text size="sm">{p.last_seen_at ? fmt.dateTime(p.last_seen_at, zone) : "—"}</Text>
            </div>
          </SimpleGrid>
        </Group>
      </Card>

      {HEADLINE.some((key) => computed[key] !== undefined) && (
        <SimpleGrid cols={{ base: 2, md: 4 }} spacing="md">
          {HEADLINE.filter((key) => computed[key] !== undefined).map((key) => (
            <Kpi
              key={key}
              name={key}
              label={t(`computed.${key}`)}
              value={
                key === "revenue" && typeof computed.revenue === "number"
                  ? fmt.money(computed.revenue, currency)
                  : traitValue(computed[key], t, fmt, zone)
              }
            />
          ))}
        </SimpleGrid>
      )}

      <Grid gap="md">
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Stack gap="md">
            <Section id="traits" title={t("profile.traits")}>
              {Object.keys(traitMap).length === 0 ? (
                <Empty>{t("profile.noTraits")}</Empty>
              ) : (
                <Facts
                  entries={Object.entries(traitMap)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, v]) => [k, traitValue(v, t, fmt, zone)])}
                />
              )}
            </Section>
            <Section id="computed" title={t("profile.computed")}>
              {Object.keys(computed).length === 0 ? (
                <Empty>{t("profile.notComputed")}</Empty>
              ) : (
                <Facts
                  entries={Object.entries(computed)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, v]) => [computedLabel(k), traitValue(v, t, fmt, zone)])}
                />
              )}
            </Section>
            <Section
              id="identities"
              title={t("profile.identities")}
              hint={
                p.merged_from?.length
                  ? t("profile.mergedIn", { count: p.merged_from.length })
                  : undefined
              }
            >
              {identities.length === 0 ? (
                <Empty>{t("profile.noIdentities")}</Empty>
              ) : (
                <List spacing={6} listStyleType="none" data-identities="true">
                  {identities.map(({ kind, value }) => (
                    <List.Item key={`${kind}:${value}`}>
                      <Group gap="xs" wrap="nowrap">
                        <Tag size="sm">{kindLabel(kind)}</Tag>
                        <Code style={{ overflowWrap: "anywhere" }}>{value}</Code>
                      </Group>
                    </List.Item>
                  ))}
                </List>
              )}
            </Section>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8 }}>
          <Timeline profile={p} />
        </Grid.Col>
      </Grid>
    </Page>
  );
}
