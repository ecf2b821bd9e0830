import { Avatar, Group, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { AnchorLink } from "@/components/links";

/** A person's name (or "Anonymous visitor") with their initial, linking to Profile 360. */
export function Person({
  id,
  name,
  size = "sm",
}: {
  id: string;
  name?: string | null;
  size?: "sm" | "md";
}) {
  const { t } = useTranslation();
  const shown = name || t("profile.anonymous");
  return (
    <AnchorLink to="/profiles/$profileId" params={{ profileId: id }} underline="hover">
      <Group gap="xs" wrap="nowrap">
        <Avatar size={size} radius="xl" color="brand" variant="light" aria-hidden="true">
          {name ? name.slice(0, 1).toUpperCase() : "?"}
        </Avatar>
        <Text size="sm" fw={500} span>
          {shown}
        </Text>
      </Group>
    </AnchorLink>
  );
}
