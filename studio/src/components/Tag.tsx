import { Badge, type BadgeProps } from "@mantine/core";
import type { ReactNode } from "react";

/** Tint and text of each tone: the text at least 6:1 on its tint (WCAG AA for small text). */
const TONES = {
  neutral: ["gray", "#343a40"],
  info: ["brand", "#3730a3"],
  good: ["teal", "#05573f"],
  warn: ["orange", "#853700"],
  bad: ["red", "#9b1c1c"],
} as const;

/** A small label (status, source, kind), dark text on a light tint for AA contrast. */
export function Tag({
  tone = "neutral",
  children,
  ...rest
}: { tone?: keyof typeof TONES; children: ReactNode } & Omit<BadgeProps, "color" | "children">) {
  const [color, text] = TONES[tone];
  return (
    <Badge
      variant="light"
      color={color}
      c={text}
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
