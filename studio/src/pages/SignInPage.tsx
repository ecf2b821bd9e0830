import {
  Alert,
  Anchor,
  Box,
  Button,
  Card,
  Center,
  Code,
  Divider,
  Group,
  PasswordInput,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { schemaResolver, useForm } from "@mantine/form";
import { IconAlertTriangle, IconKey } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import type { TFunction } from "i18next";
import { type ReactNode, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import {
  type Credentials,
  getSignInMethods,
  type Session,
  SignInError,
  signIn,
  singleSignOnUrl,
} from "@/api/auth";
import { sessionQuery } from "@/api/queries";
import { signInRoute } from "@/app/router";
import { changeLanguage, type Language, useLanguage } from "@/i18n";
import { safeNext, singleSignOnProblem } from "@/pages/signIn";

/** The message of a refused sign-in for the field at fault, or null for a server failure. */
function refusal(t: TFunction, error: unknown, wrong: string): string | null {
  if (!(error instanceof SignInError) || error.status >= 500) return null;
  if (error.status === 429) {
    return t("signIn.tooMany", { count: Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60)) });
  }
  if (error.status === 403) return t("signIn.forbidden");
  return wrong;
}

interface FormProps {
  onSignedIn: (session: Session) => Promise<void>;
  onFailure: (message: string | null) => void;
  children: ReactNode;
}

function PasswordForm({ onSignedIn, onFailure, children }: FormProps) {
  const { t } = useTranslation();
  const schema = useMemo(
    () =>
      z.object({
        email: z
          .string()
          .trim()
          .regex(/^[^@\s]+@[^@\s]+$/, t("signIn.emailRequired")),
        password: z.string().min(1, t("signIn.passwordRequired")),
      }),
    [t],
  );
  const form = useForm({
    mode: "controlled",
    initialValues: { email: "", password: "" },
    validate: schemaResolver(schema, { sync: true }),
  });
  const submit = form.onSubmit(async ({ email, password }) => {
    onFailure(null);
    try {
      await onSignedIn(await signIn({ email: email.trim(), password }));
    } catch (error) {
      const message = refusal(t, error, t("signIn.wrongPassword"));
      if (message === null) onFailure(t("signIn.failed"));
      else form.setFieldError("password", message);
    }
  });
  return (
    <form onSubmit={submit} noValidate data-sign-in="password">
      <Stack gap="md">
        {children}
        <TextInput
          label={t("signIn.email")}
          type="email"
          autoComplete="username"
          data-autofocus
          autoFocus
          {...form.getInputProps("email")}
        />
        <PasswordInput
          label={t("signIn.password")}
          autoComplete="current-password"
          visibilityToggleButtonProps={{ "aria-label": t("signIn.showPassword") }}
          {...form.getInputProps("password")}
        />
        <Button type="submit" loading={form.submitting} fullWidth>
          {t("signIn.submit")}
        </Button>
      </Stack>
    </form>
  );
}

function TokenForm({ onSignedIn, onFailure, children }: FormProps) {
  const { t } = useTranslation();
  const schema = useMemo(
    () => z.object({ token: z.string().trim().min(1, t("signIn.tokenRequired")) }),
    [t],
  );
  const form = useForm({
    mode: "controlled",
    initialValues: { token: "" },
    validate: schemaResolver(schema, { sync: true }),
  });
  const submit = form.onSubmit(async ({ token }) => {
    onFailure(null);
    try {
      await onSignedIn(await signIn({ token: token.trim() } satisfies Credentials));
    } catch (error) {
      const message = refusal(t, error, t("signIn.unknownToken"));
      if (message === null) onFailure(t("signIn.failed"));
      else form.setFieldError("token", message);
    }
  });
  return (
    <form onSubmit={submit} noValidate data-sign-in="token">
      <Stack gap="md">
        {children}
        <Text size="sm" c="dimmed">
          {t("signIn.explain")} <Code>{t("signIn.makeRun")}</Code> {t("signIn.orCreate")}{" "}
          <Code>{t("signIn.createCommand")}</Code>
        </Text>
        <PasswordInput
          label={t("signIn.token")}
          placeholder={t("signIn.tokenPlaceholder")}
          autoComplete="off"
          data-autofocus
          autoFocus
          visibilityToggleButtonProps={{ "aria-label": t("signIn.showToken") }}
          {...form.getInputProps("token")}
        />
        <Button type="submit" loading={form.submitting} fullWidth>
          {t("signIn.submit")}
        </Button>
      </Stack>
    </form>
  );
}

export function SignInPage() {
  const { t } = useTranslation();
  const language = useLanguage();
  const { next, sso_error: ssoError } = signInRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [failure, setFailure] = useState<string | null>(null);
  const [withToken, setWithToken] = useState(false);
  const methods = useQuery({
    queryKey: ["session", "methods"],
    queryFn: getSignInMethods,
    staleTime: 60_000,
    retry: false,
  });
  const target = safeNext(next);
  const sso = methods.data ? singleSignOnUrl(methods.data, target) : null;

  useEffect(() => {
    document.title = t("app.documentTitle", { page: t("signIn.title") });
  }, [t]);

  const signedIn = async (session: Session) => {
    queryClient.setQueryData(sessionQuery.queryKey, session);
    await navigate({ href: target, replace: true });
  };

  const problems = (
    <>
      {ssoError && !failure && (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} role="alert">
          {singleSignOnProblem(t, ssoError)}
        </Alert>
      )}
      {failure && (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} role="alert">
          {failure}
        </Alert>
      )}
    </>
  );

  return (
    <Center
      mih="100vh"
      p="md"
      bg="gray.0"
      component="main"
      id="main"
      data-page-ready={methods.isPending ? "false" : "true"}
    >
      <Card w="100%" maw={420} shadow="sm" padding="xl">
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
          {sso && !withToken && (
            <>
              <Button
                component="a"
                href={sso}
                variant="default"
                fullWidth
                leftSection={<IconKey size={18} stroke={1.7} aria-hidden="true" />}
                data-sign-in="sso"
              >
                {methods.data?.sso_label || t("signIn.sso")}
              </Button>
              <Divider label={t("signIn.or")} labelPosition="center" />
            </>
          )}
          {withToken ? (
            <TokenForm onSignedIn={signedIn} onFailure={setFailure}>
              {problems}
            </TokenForm>
          ) : (
            <PasswordForm onSignedIn={signedIn} onFailure={setFailure}>
              {problems}
            </PasswordForm>
          )}
          <Anchor
            component="button"
            type="button"
            size="sm"
            ta="center"
            onClick={() => {
              setFailure(null);
              setWithToken(!withToken);
            }}
          >
            {withToken ? t("signIn.usePassword") : t("signIn.useToken")}
          </Anchor>
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
      </Card>
    </Center>
  );
}
