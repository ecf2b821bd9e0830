import { Stack, Text, Title } from "@mantine/core";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { ButtonLink } from "@/components/links";

/** An address the Studio does not know. */
export function NotFoundPage() {
  const { t } = useTranslation();
  useEffect(() => {
    document.title = t("app.documentTitle", { page: t("notFound.title") });
  }, [t]);
  return (
    <Stack align="flex-start" gap="sm" p="lg" data-page-ready="true">
      <Title order={1} fz={26}>
        {t("notFound.title")}
      </Title>
      <Text c="dimmed">{t("notFound.text")}</Text>
      <ButtonLink to="/" variant="light">
        {t("notFound.back")}
      </ButtonLink>
    </Stack>
  );
}
