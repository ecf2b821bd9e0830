import { Alert, Button, Code, Group, Text } from "@mantine/core";
import { IconAlertTriangle, IconCloudOff, IconSearch } from "@tabler/icons-react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "@/api/client";
import { ButtonLink } from "@/components/links";

interface ErrorNoticeProps {
  error: unknown;
  /** What to say when the thing asked for does not exist (404). */
  notFound?: ReactNode;
  /** Where a 404 leads back to. */
  back?: { to: string; label: string };
  retry?: () => void;
}

/** A failed request in words a person understands: a missing thing (404), the server out of
 * reach, or a server error with the request id to quote; never a stack trace. */
export function ErrorNotice({ error, notFound, back, retry }: ErrorNoticeProps) {
  const { t } = useTranslation();
  const apiError = error instanceof ApiError ? error : null;
  const retryButton = retry && (
    <Button variant="light" size="xs" onClick={retry}>
      {t("states.retry")}
    </Button>
  );
  if (apiError?.status === 404 && notFound) {
    return (
      <Alert
        color="gray"
        icon={<IconSearch size={18} />}
        title={t("states.notFoundTitle")}
        data-error="404"
      >
        <Text size="sm">{notFound}</Text>
        {back && (
          <ButtonLink to={back.to} variant="light" size="xs" mt="sm">
            {back.label}
          </ButtonLink>
        )}
      </Alert>
    );
  }
  if (!apiError || apiError.status === 0) {
    return (
      <Alert
        color="orange"
        icon={<IconCloudOff size={18} />}
        title={t("states.networkTitle")}
        data-error="network"
      >
        <Text size="sm">{t("states.network")}</Text>
        <Group mt="sm">{retryButton}</Group>
      </Alert>
    );
  }
  if (apiError.isServerError) {
    return (
      <Alert
        color="red"
        icon={<IconAlertTriangle size={18} />}
        title={t("states.serverTitle")}
        data-error="5xx"
        role="alert"
      >
        <Text size="sm">{t("states.server")}</Text>
        {apiError.requestId && (
          <Text size="sm" mt={6}>
            {t("states.requestId")}{" "}
            <Code data-request-id={apiError.requestId}>{apiError.requestId}</Code>
          </Text>
        )}
        <Group mt="sm">{retryButton}</Group>
      </Alert>
    );
  }
  // another 4xx: the server's own words name what was wrong
  return (
    <Alert
      color="orange"
      icon={<IconAlertTriangle size={18} />}
      title={t("states.refusedTitle")}
      data-error={apiError.status}
      role="alert"
    >
      <Text size="sm">{apiError.problem.detail ?? apiError.problem.title}</Text>
    </Alert>
  );
}
