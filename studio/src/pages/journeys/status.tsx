import { useTranslation } from "react-i18next";
import { Tag } from "@/components/Tag";

const JOURNEY_TONES = { draft: "neutral", active: "good", paused: "warn", stopped: "bad" } as const;
const INSTANCE_TONES = {
  active: "info",
  completed: "neutral",
  exited: "warn",
  converted: "good",
} as const;

export function JourneyStatus({ status }: { status: string }) {
  const { t } = useTranslation();
  const known = status in JOURNEY_TONES ? (status as keyof typeof JOURNEY_TONES) : null;
  return (
    <Tag tone={known ? JOURNEY_TONES[known] : "neutral"} data-status={status}>
      {known ? t(`journeyStatus.${known}`) : status}
    </Tag>
  );
}

export function InstanceStatus({ status }: { status: string }) {
  const { t } = useTranslation();
  const known = status in INSTANCE_TONES ? (status as keyof typeof INSTANCE_TONES) : null;
  return (
    <Tag tone={known ? INSTANCE_TONES[known] : "neutral"} data-status={status}>
      {known ? t(`instanceStatus.${known}`) : status}
    </Tag>
  );
}
