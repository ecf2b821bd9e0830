// ISO 8601 durations as the journey documents write them (PT1H, P7D, P1DT12H, P2W), parsed into
// parts a person reads ("1 hour", "1 day 12 hours"). Pure: no I/O, no clock.

export type DurationUnit = "year" | "month" | "week" | "day" | "hour" | "minute" | "second";

export interface DurationPart {
  unit: DurationUnit;
  value: number;
}

const PATTERN =
  /^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;
const UNITS: DurationUnit[] = ["year", "month", "week", "day", "hour", "minute", "second"];

/** The non-zero parts of an ISO 8601 duration, largest first; null when it is not one. */
export function parseDuration(text: string): DurationPart[] | null {
  const match = PATTERN.exec(text.trim().toUpperCase());
  if (!match || text.trim().toUpperCase() === "P" || text.trim().toUpperCase().endsWith("T")) {
    return null;
  }
  const parts: DurationPart[] = [];
  UNITS.forEach((unit, index) => {
    const raw = match[index + 1];
    if (raw !== undefined) {
      const value = Number(raw.replace(",", "."));
      if (value > 0) parts.push({ unit, value });
    }
  });
  return parts;
}

const SECONDS: [DurationUnit, number][] = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
  ["second", 1],
];

/** A number of seconds as at most ``largest`` whole parts (e.g. 93,600 s -> 1 day 2 hours). */
export function secondsToParts(seconds: number, largest = 2): DurationPart[] {
  let rest = Math.round(Math.abs(seconds));
  const parts: DurationPart[] = [];
  for (const [unit, size] of SECONDS) {
    if (parts.length === largest) break;
    const value = Math.floor(rest / size);
    if (value > 0 || (parts.length > 0 && unit !== "second")) {
      if (value > 0) parts.push({ unit, value });
      rest -= value * size;
      if (parts.length > 0 && value === 0) break;
    }
  }
  return parts.length ? parts : [{ unit: "second", value: 0 }];
}
