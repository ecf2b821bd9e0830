import {
  Alert,
  Button,
  Card,
  Center,
  Group,
  PasswordInput,
  Stack,
  Text,
  Title,
} from "@mantine/core";
import { schemaResolver, useForm } from "@mantine/form";
import { IconAlertTriangle, IconCircleCheck } from "@tabler/icons-react";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { activateAccount, SignInError } from "@/api/auth";
import { ButtonLink } from "@/components/links";
import { linkToken, MIN_PASSWORD_LENGTH } from "@/pages/signIn";

/** Setting one's password with the link of an invitation or a password reset; then the person
 * signs in with it. */
export function SetPasswordPage() {
  const { t } = useTranslation();
  const [token] = useState(() => linkToken(window.location.hash));
  const [done, setDone] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const schema = useMemo(
    () =>
      z
        .object({
          password: z
            .string()
            .min(MIN_PASSWORD_LENGTH, t("setPassword.tooShort", { count: MIN_PASSWORD_LENGTH })),
          repeat: z.string(),
        })
        .refine((v) => v.password === v.repeat, {
          message: t("setPassword.different"),
          path: ["repeat"],
        }),
    [t],
  );
  const form = useForm({
    mode: "controlled",
    initialValues: { password: "", repeat: "" },
    validate: schemaResolver(schema, { sync: true }),
  });

  useEffect(() => {
    document.title = t("app.documentTitle", { page: t("setPassword.title") });
  }, [t]);

  const submit = form.onSubmit(async ({ password }) => {
    setFailure(null);
    try {
      const user = await activateAccount(token, password);
      setDone(user.email ?? "");
    } catch (error) {
      if (error instanceof SignInError && error.status === 422) {
        form.setFieldError("password", t("setPassword.refused"));
      } else if (error instanceof SignInError && error.status < 500) {
        setFailure(t("setPassword.invalidLink"));
      } else {
        setFailure(t("setPassword.failed"));
      }
    }
  });

  return (
    <Center mih="100vh" p="md" bg="gray.0" component="main" id="main" data-page-ready="true">
      <Card w="100%" maw={420} shadow="sm" padding="xl">
        <Stack gap="md">
          <Group gap="sm" wrap="nowrap">
            <img src="/ui/favicon.svg" alt="" width={40} height={40} />
            <Text fw={700} fz="xl" lh={1.2}>
              {t("app.name")}
            </Text>
          </Group>
          <Title order={1} fz={24}>
            {t("setPassword.title")}
          </Title>
          {done !== null ? (
            <>
              <Alert color="green" icon={<IconCircleCheck size={18} />} role="status">
                {t("setPassword.done")}
                {done && (
                  <>
                    {" "}
                    <b data-account-email>{done}</b>
                  </>
                )}
              </Alert>
              <ButtonLink to="/sign-in" search={{ next: undefined }} fullWidth>
                {t("setPassword.signIn")}
              </ButtonLink>
            </>
          ) : !token ? (
            <Alert color="red" icon={<IconAlertTriangle size={18} />} role="alert">
              {t("setPassword.invalidLink")}
            </Alert>
          ) : (
            <form onSubmit={submit} noValidate>
              <Stack gap="md">
                <Text size="sm" c="dimmed">
                  {t("setPassword.explain", { count: MIN_PASSWORD_LENGTH })}
                </Text>
                {failure && (
                  <Alert color="red" icon={<IconAlertTriangle size={18} />} role="alert">
                    {failure}
                  </Alert>
                )}
                <PasswordInput
                  label={t("setPassword.password")}
                  autoComplete="new-password"
                  data-autofocus
                  autoFocus
                  visibilityToggleButtonProps={{ "aria-label": t("signIn.showPassword") }}
                  {...form.getInputProps("password")}
                />
                <PasswordInput
                  label={t("setPassword.repeat")}
                  autoComplete="new-password"
                  visibilityToggleButtonProps={{ "aria-label": t("signIn.showPassword") }}
                  {...form.getInputProps("repeat")}
                />
                <Button type="submit" loading={form.submitting} fullWidth>
                  {t("setPassword.submit")}
                </Button>
              </Stack>
            </form>
          )}
        </Stack>
      </Card>
    </Center>
  );
}
