import { Badge, type BadgeProps } from "@mantine/core";
import type { ReactNode } from "react";

const TONES = {
  neutral: "gray",
  info: "brand",
  good: "teal",
  warn: "orange",
  bad: "red",
} as const;

/** A small label (status, source, kind), dark text on a light tint for AA contrast. */
export function Tag({
  tone = "neutral",
  children,
  ...rest
}: { tone?: keyof typeof TONES; children: ReactNode } & Omit<BadgeProps, "color" | "children">) {
  const color = TONES[tone];
  return (
    <Badge
      variant="light"
      color={color}
      c={`${color}.9`}
      tt="none"
      fw={600}
      radius="sm"
      style={{ flexShrink: 0, overflow: "visible" }}
      styles={{ label: { overflow: "visible" } }}
      {...rest}
    >
      {children}
    </Badge>
  );
}
