import { Alert, Button, Stack, Text } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import type { ErrorComponentProps } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";
import { ApiError } from "@/api/client";
import { ErrorNotice } from "./ErrorNotice";

/** What a page shows when it fails while rendering: never a blank screen. */
export function RouteError({ error, reset }: ErrorComponentProps) {
  const { t } = useTranslation();
  if (error instanceof ApiError) return <ErrorNotice error={error} retry={reset} />;
  return (
    <Stack p="lg" data-page-ready="true">
      <Alert
        color="red"
        icon={<IconAlertTriangle size={18} />}
        title={t("states.crashTitle")}
        role="alert"
        data-error="crash"
      >
        <Text size="sm">{t("states.crash")}</Text>
        <Button mt="sm" size="xs" variant="light" onClick={() => window.location.reload()}>
          {t("states.reload")}
        </Button>
      </Alert>
    </Stack>
  );
}
