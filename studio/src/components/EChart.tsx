// The one chart component: Apache ECharts (tree-shaken: bar and line charts, SVG renderer),
// loaded on first use so pages without charts do not download it. Every text a chart shows
// comes from the page's option (axis labels and tooltips formatted by i18n/format.ts); the
// container carries the chart's accessible name.
import { BarChart, LineChart } from "echarts/charts";
import {
  DatasetComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import { useEffect, useRef } from "react";

echarts.use([
  BarChart,
  LineChart,
  DatasetComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  SVGRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

export interface EChartProps {
  option: ChartOption;
  height: number;
  /** What the chart shows, for screen readers. */
  label: string;
  /** Wider than its container: the container scrolls sideways. */
  minWidth?: number;
}

export default function EChart({ option, height, label, minWidth }: EChartProps) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!element.current) return;
    const instance = echarts.init(element.current, null, { renderer: "svg" });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(element.current);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption({ animation: false, aria: { enabled: false }, ...option }, true);
  }, [option]);

  return (
    <div style={{ overflowX: minWidth ? "auto" : undefined }}>
      <div
        ref={element}
        role="img"
        aria-label={label}
        data-chart="true"
        style={{ height, width: "100%", minWidth }}
      />
    </div>
  );
}
