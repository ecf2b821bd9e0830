import { Stack, Text, ThemeIcon } from "@mantine/core";
import { IconInbox } from "@tabler/icons-react";
import type { ReactNode } from "react";

/** What a list or chart says when it has nothing to show, and what to do about it. */
export function Empty({ children, icon }: { children: ReactNode; icon?: ReactNode }) {
  return (
    <Stack align="center" gap="xs" py="lg" data-empty="true">
      <ThemeIcon variant="light" size="xl" radius="xl" color="gray" aria-hidden="true">
        {icon ?? <IconInbox size={22} />}
      </ThemeIcon>
      <Text c="dimmed" ta="center" size="sm" maw={560}>
        {children}
      </Text>
    </Stack>
  );
}
