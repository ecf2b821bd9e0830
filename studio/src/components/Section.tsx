import { Card, Group, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

interface SectionProps {
  title: ReactNode;
  /** What the figures mean, in a line. */
  hint?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  id?: string;
}

/** A card of a page with its heading (h2). */
export function Section({ title, hint, actions, children, id }: SectionProps) {
  return (
    <Card component="section" id={id} aria-labelledby={id ? `${id}-title` : undefined}>
      <Group justify="space-between" align="flex-start" mb="md" gap="xs" wrap="wrap">
        <div>
          <Title order={2} fz="lg" id={id ? `${id}-title` : undefined}>
            {title}
          </Title>
          {hint && (
            <Text c="dimmed" size="sm">
              {hint}
            </Text>
          )}
        </div>
        {actions}
      </Group>
      {children}
    </Card>
  );
}
