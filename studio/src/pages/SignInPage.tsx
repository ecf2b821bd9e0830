import {
  Alert,
  Box,
  Button,
  Card,
  Center,
  Code,
  Group,
  PasswordInput,
  SegmentedControl,
  Stack,
  Text,
  Title,
} from "@mantine/core";
import { schemaResolver, useForm } from "@mantine/form";
import { IconAlertTriangle } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { SignInError, signIn } from "@/api/auth";
import { sessionQuery } from "@/api/queries";
import { signInRoute } from "@/app/router";
import { changeLanguage, type Language, useLanguage } from "@/i18n";

/** Only a path of the Studio: never leave for another site after signing in. */
export function safeNext(next: string | undefined): string {
  return next?.startsWith("/") && !next.startsWith("//") && !next.startsWith("/sign-in")
    ? next
    : "/";
}

export function SignInPage() {
  const { t } = useTranslation();
  const language = useLanguage();
  const { next } = signInRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [failure, setFailure] = useState<string | null>(null);
  const schema = useMemo(
    () => z.object({ token: z.string().trim().min(1, t("signIn.tokenRequired")) }),
    [t],
  );
  const form = useForm({
    mode: "controlled",
    initialValues: { token: "" },
    validate: schemaResolver(schema, { sync: true }),
  });

  useEffect(() => {
    document.title = t("app.documentTitle", { page: t("signIn.title") });
  }, [t]);

  const submit = form.onSubmit(async ({ token }) => {
    setFailure(null);
    try {
      const session = await signIn(token.trim());
      queryClient.setQueryData(sessionQuery.queryKey, session);
      await navigate({ href: safeNext(next), replace: true });
    } catch (error) {
      if (error instanceof SignInError && error.status < 500) {
        const message =
          error.status === 429
            ? t("signIn.tooMany")
            : error.status === 403
              ? t("signIn.forbidden")
              : t("signIn.unknownToken");
        form.setFieldError("token", message);
      } else {
        setFailure(t("signIn.failed"));
      }
    }
  });

  return (
    <Center mih="100vh" p="md" bg="gray.0" component="main" id="main" data-page-ready="true">
      <Card w="100%" maw={420} shadow="sm" padding="xl">
        <form onSubmit={submit} noValidate>
          <Stack gap="md">
            <Group gap="sm" wrap="nowrap">
              <img src="/ui/favicon.svg" alt="" width={40} height={40} />
              <div>
                <Text fw={700} fz="xl" lh={1.2}>
                  {t("app.name")}
                </Text>
                <Text c="dimmed" size="sm">
                  {t("app.tagline")}
                </Text>
              </div>
            </Group>
            <Title order={1} fz={24}>
              {t("signIn.title")}
            </Title>
            <Text size="sm" c="dimmed">
              {t("signIn.explain")} <Code>{t("signIn.makeRun")}</Code> {t("signIn.orCreate")}{" "}
              <Code>{t("signIn.createCommand")}</Code>
            </Text>
            {failure && (
              <Alert color="red" icon={<IconAlertTriangle size={18} />} role="alert">
                {failure}
              </Alert>
            )}
            <PasswordInput
              label={t("signIn.token")}
              placeholder={t("signIn.tokenPlaceholder")}
              autoComplete="off"
              data-autofocus
              autoFocus
              visibilityToggleButtonProps={{
                "aria-label": t("signIn.showToken"),
              }}
              {...form.getInputProps("token")}
            />
            <Button type="submit" loading={form.submitting} fullWidth>
              {t("signIn.submit")}
            </Button>
            <Box>
              <Text size="xs" c="dimmed" id="sign-in-language">
                {t("app.language")}
              </Text>
              <SegmentedControl
                aria-labelledby="sign-in-language"
                size="xs"
                value={language === "pseudo" ? "en" : language}
                onChange={(value) => void changeLanguage(value as Language)}
                data={[
                  { value: "de", label: t("languages.de") },
                  { value: "en", label: t("languages.en") },
                ]}
              />
            </Box>
          </Stack>
        </form>
      </Card>
    </Center>
  );
}
