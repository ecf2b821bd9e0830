import { createTheme, type MantineColorsTuple } from "@mantine/core";

// partitur's indigo (the logo's #4f46e5), shades chosen for AA contrast on white from index 6
const brand: MantineColorsTuple = [
  "#eef2ff",
  "#e0e7ff",
  "#c7d2fe",
  "#a5b4fc",
  "#818cf8",
  "#6366f1",
  "#4f46e5",
  "#4338ca",
  "#3730a3",
  "#312e81",
];

export const theme = createTheme({
  primaryColor: "brand",
  primaryShade: 7,
  colors: { brand },
  fontFamily:
    'Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
  defaultRadius: "md",
  headings: { fontWeight: "650" },
  components: {
    Table: { defaultProps: { verticalSpacing: "xs", highlightOnHover: true } },
    Card: { defaultProps: { withBorder: true, padding: "lg", radius: "md" } },
    // wide tables scroll sideways in a native, keyboard-focusable box (WCAG 2.1.1)
    TableScrollContainer: { defaultProps: { type: "native", tabIndex: 0 } },
  },
});

/** Series colours for charts, in order: distinct and readable on white. */
export const SERIES: readonly [string, ...string[]] = [
  "#4f46e5",
  "#0284c7",
  "#059669",
  "#d97706",
  "#dc2626",
  "#7c3aed",
  "#db2777",
  "#0d9488",
  "#475569",
];
