import { Skeleton, Stack } from "@mantine/core";
import { useTranslation } from "react-i18next";

/** Placeholder lines while a card's data loads (announced once to screen readers). */
export function Loading({ lines = 4, height = 18 }: { lines?: number; height?: number }) {
  const { t } = useTranslation();
  return (
    <Stack gap="xs" aria-busy="true" aria-live="polite" data-loading="true">
      <span className="visually-hidden">{t("states.loading")}</span>
      {Array.from({ length: lines }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholder lines have no identity
        <Skeleton key={i} height={height} width={i === lines - 1 ? "60%" : "100%"} />
      ))}
    </Stack>
  );
}
