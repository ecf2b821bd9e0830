import { Skeleton } from "@mantine/core";
import { lazy, Suspense } from "react";
import type { EChartProps } from "./EChart";

export type { ChartOption } from "./EChart";

const EChart = lazy(() => import("./EChart"));

/** A chart (see EChart.tsx), its library loaded on first use. */
export function Chart(props: EChartProps) {
  return (
    <Suspense fallback={<Skeleton height={props.height} />}>
      <EChart {...props} />
    </Suspense>
  );
}
