// Numbers, money, dates and durations in the reader's language, through Intl. Every figure the
// Studio shows goes through these functions (never toFixed or toLocaleString in a page), so the
// German UI writes "1.234,5" and "5. Jan. 2026" and the English one "1,234.5" and "5 Jan 2026".
import { type DurationPart, parseDuration, secondsToParts } from "./duration";
import { pseudoWrap, type UiLanguage } from "./languages";

export interface Format {
  /** The BCP 47 locale Intl formats with (e.g. de-DE, en-GB). */
  locale: string;
  integer(value: number): string;
  decimal(value: number, digits?: number): string;
  /** A fraction 0..1 as a percentage (0.1667 -> 16.7 %). */
  percent(fraction: number, digits?: number): string;
  /** A signed fraction as a change (+4.2 %, −1.0 %). */
  change(fraction: number, digits?: number): string;
  /** An amount with its ISO currency (EUR -> 129,90 €); without one, a number with 2 digits. */
  money(amount: number, currency?: string | null): string;
  /** A day ("2026-01-05" or a Date) without time. */
  day(value: string | Date): string;
  /** A day without the year, short, for chart axes ("5 Jan"). */
  shortDay(value: string | Date): string;
  /** A moment with date and time, in ``timeZone`` (default: the reader's). */
  dateTime(value: string | Date, timeZone?: string | null, seconds?: boolean): string;
  /** An ISO 8601 duration in words ("PT1H" -> "1 hour"); the raw text when it is not one. */
  duration(iso: string): string;
  /** Seconds in words, the two largest parts ("1 day, 2 hours"). */
  seconds(value: number): string;
  /** A list in words ("a, b and c"). */
  list(items: string[]): string;
}

/** The locale Intl uses for a UI language: the browser's own variant of it when it has one. */
export function intlLocale(language: UiLanguage, preferred: readonly string[] = []): string {
  const base = language === "pseudo" ? "en" : language;
  const own = preferred.find(
    (tag) => tag.toLowerCase().split("-")[0] === base && tag.includes("-"),
  );
  return own ?? (base === "de" ? "de-DE" : "en-GB");
}

function validZone(zone: string | null | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

export function makeFormat(language: UiLanguage, preferred: readonly string[] = []): Format {
  const locale = intlLocale(language, preferred);
  const wrap = (text: string) => pseudoWrap(language, text);
  const numbers = new Map<string, Intl.NumberFormat>();
  const numberFormat = (options: Intl.NumberFormatOptions) => {
    const key = JSON.stringify(options);
    let format = numbers.get(key);
    if (!format) {
      format = new Intl.NumberFormat(locale, options);
      numbers.set(key, format);
    }
    return format;
  };
  const parts = (items: DurationPart[]) =>
    new Intl.ListFormat(locale, { style: "long", type: "unit" }).format(
      items.map((p) =>
        numberFormat({ style: "unit", unit: p.unit, unitDisplay: "long" }).format(p.value),
      ),
    );
  const asDate = (value: string | Date) => (typeof value === "string" ? new Date(value) : value);
  const utcDay = (value: string | Date) =>
    typeof value === "string" ? new Date(`${value.slice(0, 10)}T00:00:00Z`) : value;
  // a value that is no date (a typo in a URL) is shown as it is, never as an exception
  const valid = (moment: Date) => !Number.isNaN(moment.getTime());

  return {
    locale,
    integer: (value) => numberFormat({ maximumFractionDigits: 0 }).format(value),
    decimal: (value, digits = 1) =>
      numberFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value),
    percent: (fraction, digits = 1) =>
      numberFormat({
        style: "percent",
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      }).format(fraction),
    change: (fraction, digits = 1) =>
      numberFormat({
        style: "percent",
        signDisplay: "exceptZero",
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      }).format(fraction),
    money: (amount, currency) => {
      if (currency && /^[A-Z]{3}$/.test(currency)) {
        return wrap(numberFormat({ style: "currency", currency }).format(amount));
      }
      return numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);
    },
    day: (value) => {
      // a day without time is a UTC calendar day: format it in UTC so it does not shift
      const moment = utcDay(value);
      if (!valid(moment)) return String(value);
      return wrap(
        new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(moment),
      );
    },
    shortDay: (value) => {
      const moment = utcDay(value);
      if (!valid(moment)) return String(value);
      return wrap(
        new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" }).format(
          moment,
        ),
      );
    },
    dateTime: (value, timeZone, seconds = false) => {
      const moment = asDate(value);
      if (!valid(moment)) return String(value);
      return wrap(
        new Intl.DateTimeFormat(locale, {
          dateStyle: "medium",
          timeStyle: seconds ? "medium" : "short",
          timeZone: validZone(timeZone),
        }).format(moment),
      );
    },
    duration: (iso) => {
      const found = parseDuration(iso);
      return found?.length ? wrap(parts(found)) : iso;
    },
    seconds: (value) => wrap(parts(secondsToParts(value))),
    list: (items) =>
      new Intl.ListFormat(locale, { style: "long", type: "conjunction" }).format(items),
  };
}
