import {
  AppShell,
  Burger,
  Group,
  NavLink,
  ScrollArea,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import {
  IconAlertTriangle,
  IconKey,
  IconLayoutDashboard,
  IconLogout,
  IconMap2,
  IconRoute,
  IconSearch,
  IconUsers,
} from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { type FormEvent, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { signOut } from "@/api/auth";
import { sessionQuery } from "@/api/queries";
import { NavLinkLink, PlainLink } from "@/components/links";
import { changeLanguage, type Language, useLanguage } from "@/i18n";

/** The sidebar: every page a person can open, in the order a CX team works. */
const NAVIGATION = [
  { to: "/", label: "nav.overview", icon: IconLayoutDashboard, exact: true },
  { to: "/profiles", label: "nav.profiles", icon: IconUsers },
  { to: "/journeys", label: "nav.journeys", icon: IconRoute },
  { to: "/maps", label: "nav.maps", icon: IconMap2 },
  { to: "/quarantine", label: "nav.quarantine", icon: IconAlertTriangle },
  { to: "/sources", label: "nav.sources", icon: IconKey },
] as const;

function Brand() {
  const { t } = useTranslation();
  return (
    <PlainLink to="/" aria-label={t("app.home")}>
      <Group gap={8} wrap="nowrap">
        <img src="/ui/favicon.svg" alt="" width={28} height={28} />
        <Text fw={700} fz="lg" visibleFrom="xs">
          {t("app.name")}
        </Text>
      </Group>
    </PlainLink>
  );
}

function ProfileSearch() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [query, setQuery] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void navigate({ to: "/profiles", search: { q: query.trim() } });
  };
  return (
    <search style={{ flex: 1, maxWidth: 460 }}>
      <form onSubmit={submit}>
        <TextInput
          type="search"
          value={query}
          onChange={(event) => setQuery(event.currentTarget.value)}
          placeholder={t("app.searchPlaceholder")}
          aria-label={t("app.searchLabel")}
          leftSection={<IconSearch size={16} aria-hidden="true" />}
          name="q"
        />
      </form>
    </search>
  );
}

function LanguageSwitch() {
  const { t } = useTranslation();
  const language = useLanguage();
  return (
    <Stack gap={4}>
      <Text size="xs" c="dimmed" id="language-label">
        {t("app.language")}
      </Text>
      <SegmentedControl
        aria-labelledby="language-label"
        size="xs"
        fullWidth
        value={language === "pseudo" ? "en" : language}
        onChange={(value) => void changeLanguage(value as Language)}
        data={[
          { value: "de", label: t("languages.de") },
          { value: "en", label: t("languages.en") },
        ]}
      />
    </Stack>
  );
}

/** The roles a person may have (``GET /api/access/roles``), as the catalogue names them. */
const ROLES = ["owner", "admin", "publisher", "designer", "analyst", "agent", "viewer"] as const;

/** Who is signed in: their name (their e-mail on hover) and role. */
function SignedInAs() {
  const { t } = useTranslation();
  const { data: session } = useQuery(sessionQuery);
  if (!session) return null;
  const role = ROLES.find((r) => r === session.role);
  return (
    <Stack gap={0} data-signed-in={session.actor}>
      <Text size="xs" c="dimmed">
        {t("app.signedInAs")}
      </Text>
      <Text size="sm" fw={600} truncate="end" title={session.email ?? undefined}>
        {session.name}
      </Text>
      <Text size="xs" c="dimmed">
        {role ? t(`roles.${role}`) : session.role}
      </Text>
    </Stack>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure(false);
  const pathname = useRouterState({ select: (state) => state.location.pathname });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useEffect(() => {
    if (pathname) close();
  }, [pathname, close]);

  const leave = async () => {
    await signOut();
    queryClient.clear();
    await navigate({ to: "/sign-in", search: { next: undefined } });
  };

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding={{ base: "sm", sm: "lg" }}
    >
      <a href="#main" className="skip-link">
        {t("app.skipToContent")}
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" gap="md" wrap="nowrap">
          <Burger
            opened={opened}
            onClick={toggle}
            hiddenFrom="sm"
            size="sm"
            aria-label={opened ? t("app.closeMenu") : t("app.openMenu")}
            aria-controls="navigation"
            aria-expanded={opened}
          />
          <Brand />
          <ProfileSearch />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" id="navigation" aria-label={t("app.mainNavigation")}>
        <AppShell.Section grow component={ScrollArea}>
          {NAVIGATION.map((item) => {
            const active = item.to === "/" ? pathname === "/" : pathname.startsWith(item.to);
            return (
              <NavLinkLink
                key={item.to}
                to={item.to}
                label={t(item.label)}
                leftSection={<item.icon size={18} stroke={1.7} aria-hidden="true" />}
                active={active}
                aria-current={active ? "page" : undefined}
                variant="light"
              />
            );
          })}
        </AppShell.Section>
        <AppShell.Section>
          <Stack gap="sm" pt="sm" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
            <SignedInAs />
            <LanguageSwitch />
            <NavLink
              component="button"
              type="button"
              label={t("app.signOut")}
              leftSection={<IconLogout size={18} stroke={1.7} aria-hidden="true" />}
              onClick={() => void leave()}
            />
          </Stack>
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
