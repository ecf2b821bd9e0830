import { Anchor, Breadcrumbs, Group, Stack, Text, Title } from "@mantine/core";
import { Link } from "@tanstack/react-router";
import { type ReactNode, useEffect } from "react";
import { useTranslation } from "react-i18next";

export interface Crumb {
  label: string;
  to: string;
}

interface PageProps {
  title: string;
  /** Links above the title, from the top of the Studio down to the parent page. */
  crumbs?: Crumb[];
  /** A line under the title. */
  subtitle?: ReactNode;
  actions?: ReactNode;
  /** True once the page's own data is shown: tests and the speed bench wait for it. */
  ready: boolean;
  children: ReactNode;
}

/** The frame of every page: breadcrumbs, the page's heading (its only h1), the document title
 * and the ``data-page-ready`` marker. */
export function Page({ title, crumbs, subtitle, actions, ready, children }: PageProps) {
  const { t } = useTranslation();
  useEffect(() => {
    document.title = t("app.documentTitle", { page: title });
  }, [t, title]);
  return (
    <Stack gap="lg" data-page-ready={ready ? "true" : "false"}>
      <Group justify="space-between" align="flex-end" wrap="wrap" gap="sm">
        <div>
          {crumbs && crumbs.length > 0 && (
            <Breadcrumbs mb={4} aria-label={t("app.breadcrumbs")}>
              {crumbs.map((crumb) => (
                <Anchor key={crumb.to} component={Link} to={crumb.to} size="sm">
                  {crumb.label}
                </Anchor>
              ))}
            </Breadcrumbs>
          )}
          <Title order={1} fz={{ base: 22, sm: 26 }}>
            {title}
          </Title>
          {subtitle && (
            <Text c="dimmed" size="sm" mt={4}>
              {subtitle}
            </Text>
          )}
        </div>
        {actions}
      </Group>
      {children}
    </Stack>
  );
}
