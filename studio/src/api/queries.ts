// Query options of every read the Studio makes: one key per API resource, shared by the route
// loaders (which start fetching while a page's code loads) and the pages (which render it).
import { queryOptions } from "@tanstack/react-query";
import { getSession } from "./auth";
import { api, call } from "./client";

export const sessionQuery = queryOptions({
  queryKey: ["session"],
  queryFn: getSession,
  staleTime: 5 * 60_000,
  retry: false,
});

export const sourcesQuery = queryOptions({
  queryKey: ["sources"],
  queryFn: () => call(api.GET("/api/sources")),
  staleTime: 5 * 60_000,
});

export const profileCountQuery = queryOptions({
  queryKey: ["profiles", "count"],
  queryFn: () => call(api.GET("/api/profiles/count")),
});

export const eventVolumeQuery = (days: number) =>
  queryOptions({
    queryKey: ["events", "volume", days],
    queryFn: () => call(api.GET("/api/events/volume", { params: { query: { days } } })),
  });

export const quarantineQuery = (cursor: string | undefined, limit = 50) =>
  queryOptions({
    queryKey: ["quarantine", cursor ?? null, limit],
    queryFn: () =>
      call(api.GET("/api/quarantine", { params: { query: { cursor: cursor ?? null, limit } } })),
  });

export const profileSearchQuery = (q: string) =>
  queryOptions({
    queryKey: ["profiles", "search", q],
    queryFn: () => call(api.GET("/api/profiles/search", { params: { query: { q } } })),
  });

export const profileQuery = (profileId: string) =>
  queryOptions({
    queryKey: ["profiles", profileId],
    queryFn: () =>
      call(api.GET("/api/profiles/{profile_id}", { params: { path: { profile_id: profileId } } })),
  });

export const timelineQuery = (profileId: string, cursor: string | undefined) =>
  queryOptions({
    queryKey: ["profiles", profileId, "events", cursor ?? null],
    queryFn: () =>
      call(
        api.GET("/api/profiles/{profile_id}/events", {
          params: { path: { profile_id: profileId }, query: { cursor: cursor ?? null, limit: 50 } },
        }),
      ),
  });

export const profileSummariesQuery = (ids: string[]) =>
  queryOptions({
    queryKey: ["profiles", "summaries", ids],
    queryFn: () => call(api.GET("/api/profiles/summaries", { params: { query: { ids } } })),
    enabled: ids.length > 0,
  });

export const journeysQuery = queryOptions({
  queryKey: ["journeys"],
  queryFn: () => call(api.GET("/api/journeys")),
});

export const journeyHeadlinesQuery = queryOptions({
  queryKey: ["analytics", "journeys", "kpis"],
  queryFn: () => call(api.GET("/api/analytics/journeys/kpis")),
});

export const journeyQuery = (key: string) =>
  queryOptions({
    queryKey: ["journeys", key],
    queryFn: () => call(api.GET("/api/journeys/{key}", { params: { path: { key } } })),
  });

export const journeyDefinitionQuery = (key: string) =>
  queryOptions({
    queryKey: ["journeys", key, "definition"],
    queryFn: () => call(api.GET("/api/journeys/{key}/definition", { params: { path: { key } } })),
  });

export const journeyReportQuery = (key: string) =>
  queryOptions({
    queryKey: ["analytics", "journeys", key, "report"],
    queryFn: () =>
      call(
        api.GET("/api/analytics/journeys/{journey_id}/report", {
          params: { path: { journey_id: key } },
        }),
      ),
  });

export const latestInstancesQuery = (key: string) =>
  queryOptions({
    queryKey: ["journeys", key, "latest-instances"],
    queryFn: () =>
      call(
        api.GET("/api/journeys/{key}/latest-instances", {
          params: { path: { key }, query: { limit: 20 } },
        }),
      ),
  });

export const mapsQuery = queryOptions({
  queryKey: ["maps"],
  queryFn: () => call(api.GET("/api/maps")),
});

export const taxonomyQuery = queryOptions({
  queryKey: ["maps", "taxonomy"],
  queryFn: () => call(api.GET("/api/maps/taxonomy")),
  staleTime: 5 * 60_000,
});

export const mapQuery = (key: string) =>
  queryOptions({
    queryKey: ["maps", key],
    queryFn: () => call(api.GET("/api/maps/{key}", { params: { path: { key } } })),
  });

export const mapReportQuery = (key: string, since: string | undefined, until: string | undefined) =>
  queryOptions({
    queryKey: ["maps", key, "report", since ?? null, until ?? null],
    queryFn: () =>
      call(
        api.GET("/api/maps/{key}/report", {
          params: { path: { key }, query: { since: since ?? null, until: until ?? null } },
        }),
      ),
  });

export const segmentsQuery = queryOptions({
  queryKey: ["segments"],
  queryFn: () => call(api.GET("/api/segments")),
  staleTime: 5 * 60_000,
});

export const eventNamesQuery = queryOptions({
  queryKey: ["analytics", "events", "names"],
  queryFn: () => call(api.GET("/api/analytics/events/names", { params: { query: { days: 90 } } })),
  staleTime: 5 * 60_000,
});

export const templatesQuery = queryOptions({
  queryKey: ["channels", "templates"],
  queryFn: () => call(api.GET("/api/channels/templates")),
  staleTime: 60_000,
});

export const offersQuery = queryOptions({
  queryKey: ["decisions", "catalogue"],
  queryFn: () => call(api.GET("/api/decisions/catalogue")),
  staleTime: 5 * 60_000,
});

/** A journey's per-node counts, live from the store; the canvas's live view polls them. */
export const journeyNodeCountsQuery = (key: string, refetchInterval: number | false = false) =>
  queryOptions({
    queryKey: ["journeys", key, "nodes"],
    queryFn: () => call(api.GET("/api/journeys/{key}/nodes", { params: { path: { key } } })),
    refetchInterval,
  });
