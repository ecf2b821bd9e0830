import { Card, SimpleGrid, Text } from "@mantine/core";
import type { ReactNode } from "react";

interface KpiProps {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
  /** Marks a figure that asks for attention (e.g. quarantined messages). */
  warn?: boolean;
  /** ``data-kpi`` name, for tests. */
  name?: string;
}

export function Kpi({ label, value, hint, warn, name }: KpiProps) {
  return (
    <Card padding="md" style={warn ? { borderColor: "var(--mantine-color-orange-5)" } : undefined}>
      <Text size="sm" c="dimmed" fw={500}>
        {label}
      </Text>
      <Text fz={26} fw={650} lh={1.3} data-kpi={name} c={warn ? "orange.9" : undefined}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Card>
  );
}

export function KpiGrid({ children }: { children: ReactNode }) {
  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="md">
      {children}
    </SimpleGrid>
  );
}
