// How a timeline entry reads for a person: "Viewed Home", "Order Completed · order NH-1 ·
// 129,90 €", a customer's own words as a quote with their sentiment. Pure: no I/O.
import type { TFunction } from "i18next";
import type { Schemas } from "@/api/client";
import type { Format } from "@/i18n/format";

export type EventIcon =
  | "identify"
  | "page"
  | "screen"
  | "cart"
  | "mail"
  | "chat"
  | "star"
  | "eye"
  | "dot";
export type SentimentLabel = "positive" | "neutral" | "negative";

export interface TimelineEntry {
  title: string;
  icon: EventIcon;
  summary: string[];
  /** the customer's own words (ticket, review, survey comment) */
  text: string | null;
  sentiment: SentimentLabel | null;
}

const ICONS: [string[], EventIcon][] = [
  [["Order", "Product Added", "Checkout"], "cart"],
  [["Email", "Unsubscribed"], "mail"],
  [["Ticket"], "chat"],
  [["Review", "NPS", "CSAT", "Survey"], "star"],
  [["Viewed"], "eye"],
];

function present(value: unknown): value is string | number {
  return (typeof value === "string" && value !== "" && value !== "-") || typeof value === "number";
}

export function describeEvent(
  event: Schemas["TimelineEvent"],
  t: TFunction,
  fmt: Format,
): TimelineEntry {
  const props = event.properties ?? {};
  if (event.type === "identify") {
    const names = Object.keys(event.traits ?? {}).slice(0, 6);
    return {
      title: t("timeline.identified"),
      icon: "identify",
      summary: names.length ? [t("timeline.traits", { names: names.join(", ") })] : [],
      text: null,
      sentiment: null,
    };
  }
  if (event.type === "page" || event.type === "screen") {
    const name = event.event ?? (event.type === "page" ? t("timeline.page") : t("timeline.screen"));
    const where = props.title ?? props.path;
    return {
      title:
        event.type === "page" ? t("timeline.viewed", { name }) : t("timeline.opened", { name }),
      icon: event.type,
      summary: present(where) ? [String(where)] : [],
      text: null,
      sentiment: null,
    };
  }
  if (event.type !== "track") {
    return {
      title: event.type === "group" ? t("timeline.group") : t("timeline.alias"),
      icon: "dot",
      summary: [],
      text: null,
      sentiment: null,
    };
  }
  const name = event.event ?? "";
  const summary: string[] = [];
  if (present(props.name)) summary.push(String(props.name));
  if (present(props.order_id)) summary.push(t("timeline.order", { id: props.order_id }));
  if (present(props.ticket_id)) summary.push(t("timeline.ticket", { id: props.ticket_id }));
  if (present(props.topic)) summary.push(t("timeline.topic", { topic: props.topic }));
  if (present(props.campaign_name)) {
    summary.push(t("timeline.campaign", { name: props.campaign_name }));
  }
  if (present(props.rating)) summary.push(t("timeline.rating", { value: props.rating }));
  if (present(props.score)) summary.push(t("timeline.score", { value: props.score }));
  const money = props.revenue ?? props.total;
  if (typeof money === "number") {
    summary.push(fmt.money(money, typeof props.currency === "string" ? props.currency : null));
  }
  const text = props.text ?? props.review_body ?? props.comment;
  const label = props.sentiment_label;
  return {
    title: name,
    icon: ICONS.find(([words]) => words.some((w) => name.includes(w)))?.[1] ?? "dot",
    summary,
    text: present(text) ? String(text) : null,
    sentiment: label === "positive" || label === "neutral" || label === "negative" ? label : null,
  };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A trait value for people: yes/no, numbers grouped, timestamps in the person's zone. */
export function traitValue(
  value: unknown,
  t: TFunction,
  fmt: Format,
  zone?: string | null,
): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (typeof value === "number") {
    return Number.isInteger(value) ? fmt.integer(value) : fmt.decimal(value, 2);
  }
  if (typeof value === "string") {
    if (ISO_TIME.test(value) && !Number.isNaN(Date.parse(value))) return fmt.dateTime(value, zone);
    if (ISO_DAY.test(value)) return fmt.day(value);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => traitValue(v, t, fmt, zone)).join(", ");
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${traitValue(v, t, fmt, zone)}`)
    .join(", ");
}
