import { useTranslation } from "react-i18next";
import { Tag } from "@/components/Tag";

const STATUS_TONES = {
  draft: "neutral",
  in_review: "warn",
  published: "good",
  archived: "neutral",
} as const;

export function MapStatus({
  status,
  state,
}: {
  status: keyof typeof STATUS_TONES;
  state: "as_is" | "to_be";
}) {
  const { t } = useTranslation();
  return (
    <>
      <Tag tone={STATUS_TONES[status]}>{t(`mapStatus.${status}`)}</Tag>{" "}
      <Tag tone="info">{t(`mapState.${state}`)}</Tag>
    </>
  );
}
