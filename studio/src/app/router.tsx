// Every page of the Studio, each reachable by its URL with its state in the query string
// (validated here, so a page reads typed search parameters). Pages load lazily; each route's
// loader starts the page's requests while its code downloads. Adding a page: studio/README.md.
import type { QueryClient } from "@tanstack/react-query";
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Outlet,
  redirect,
} from "@tanstack/react-router";
import { z } from "zod";
import {
  eventVolumeQuery,
  journeyDefinitionQuery,
  journeyHeadlinesQuery,
  journeyQuery,
  journeyReportQuery,
  journeysQuery,
  latestInstancesQuery,
  mapQuery,
  mapReportQuery,
  mapsQuery,
  profileCountQuery,
  profileQuery,
  profileSearchQuery,
  quarantineQuery,
  sessionQuery,
  sourcesQuery,
  taxonomyQuery,
  timelineQuery,
} from "@/api/queries";
import { RouteError } from "@/components/RouteError";
import { NotFoundPage } from "@/pages/NotFoundPage";
import { Layout } from "./Layout";

export interface RouterContext {
  queryClient: QueryClient;
}

/** Start downloading a page's heavy code (charts, the flow diagram) with its data. */
const preloadChart = () => void import("@/components/EChart");
const preloadFlow = () => void import("@/pages/journeys/FlowDiagram");

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFoundPage,
});

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  validateSearch: z.object({
    next: z.string().optional().catch(undefined),
    // why a single sign-on came back without a session (the server's callback sets it)
    sso_error: z.string().max(80).optional().catch(undefined),
  }),
  component: lazyRouteComponent(() => import("@/pages/SignInPage"), "SignInPage"),
});

/** Where the one-time link of an invitation or a password reset leads (the token follows in
 * the address's fragment, which never reaches a server log). */
export const setPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/set-password",
  component: lazyRouteComponent(() => import("@/pages/SetPasswordPage"), "SetPasswordPage"),
});

/** Every page behind sign-in: without a session the visitor goes to the sign-in page and
 * comes back here afterwards. */
const studioRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "studio",
  beforeLoad: async ({ context, location }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery);
    if (!session) {
      throw redirect({ to: "/sign-in", search: { next: location.href } });
    }
    return { session };
  },
  component: Layout,
  notFoundComponent: NotFoundPage,
});

export const overviewRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/",
  validateSearch: z.object({
    days: z
      .union([z.literal(7), z.literal(30), z.literal(90)])
      .optional()
      .catch(undefined),
  }),
  loaderDeps: ({ search }) => ({ days: search.days ?? 30 }),
  loader: ({ context: { queryClient }, deps }) => {
    void queryClient.prefetchQuery(profileCountQuery);
    void queryClient.prefetchQuery(eventVolumeQuery(deps.days));
    void queryClient.prefetchQuery(quarantineQuery(undefined, 8));
    void queryClient.prefetchQuery(sourcesQuery);
    preloadChart();
  },
  component: lazyRouteComponent(() => import("@/pages/OverviewPage"), "OverviewPage"),
});

export const profilesRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/profiles",
  validateSearch: z.object({ q: z.string().max(255).optional().catch(undefined) }),
  loaderDeps: ({ search }) => ({ q: search.q ?? "" }),
  loader: ({ context: { queryClient }, deps }) => {
    void queryClient.prefetchQuery(profileSearchQuery(deps.q.trim()));
  },
  component: lazyRouteComponent(() => import("@/pages/profiles/ProfilesPage"), "ProfilesPage"),
});

export const profileRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/profiles/$profileId",
  validateSearch: z.object({ before: z.string().optional().catch(undefined) }),
  loaderDeps: ({ search }) => ({ before: search.before }),
  loader: ({ context: { queryClient }, params, deps }) => {
    void queryClient.prefetchQuery(profileQuery(params.profileId));
    void queryClient.prefetchQuery(timelineQuery(params.profileId, deps.before));
    void queryClient.prefetchQuery(sourcesQuery);
  },
  component: lazyRouteComponent(() => import("@/pages/profiles/ProfilePage"), "ProfilePage"),
});

export const quarantineRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/quarantine",
  validateSearch: z.object({ cursor: z.string().optional().catch(undefined) }),
  loaderDeps: ({ search }) => ({ cursor: search.cursor }),
  loader: ({ context: { queryClient }, deps }) => {
    void queryClient.prefetchQuery(quarantineQuery(deps.cursor));
    void queryClient.prefetchQuery(sourcesQuery);
  },
  component: lazyRouteComponent(() => import("@/pages/QuarantinePage"), "QuarantinePage"),
});

export const sourcesRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/sources",
  loader: ({ context: { queryClient } }) => {
    void queryClient.prefetchQuery(sourcesQuery);
  },
  component: lazyRouteComponent(() => import("@/pages/SourcesPage"), "SourcesPage"),
});

export const journeysRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/journeys",
  loader: ({ context: { queryClient } }) => {
    void queryClient.prefetchQuery(journeysQuery);
    void queryClient.prefetchQuery(journeyHeadlinesQuery);
  },
  component: lazyRouteComponent(() => import("@/pages/journeys/JourneysPage"), "JourneysPage"),
});

export const journeyRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/journeys/$key",
  validateSearch: z.object({ node: z.string().optional().catch(undefined) }),
  loader: ({ context: { queryClient }, params }) => {
    void queryClient.prefetchQuery(journeyQuery(params.key));
    void queryClient.prefetchQuery(journeyDefinitionQuery(params.key));
    void queryClient.prefetchQuery(latestInstancesQuery(params.key));
    // the slowest request of the page; a draft answers 422 and the page does not ask for it
    void queryClient.prefetchQuery(journeyReportQuery(params.key));
    preloadFlow();
    preloadChart();
  },
  component: lazyRouteComponent(() => import("@/pages/journeys/JourneyPage"), "JourneyPage"),
});

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .optional()
  .catch(undefined);

export const mapsRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/maps",
  loader: ({ context: { queryClient } }) => {
    void queryClient.prefetchQuery(mapsQuery);
    void queryClient.prefetchQuery(taxonomyQuery);
  },
  component: lazyRouteComponent(() => import("@/pages/maps/MapsPage"), "MapsPage"),
});

export const mapRoute = createRoute({
  getParentRoute: () => studioRoute,
  path: "/maps/$key",
  validateSearch: z.object({
    since: day,
    until: day,
    zoom: z.number().min(50).max(200).optional().catch(undefined),
  }),
  loaderDeps: ({ search }) => ({ since: search.since, until: search.until }),
  loader: ({ context: { queryClient }, params, deps }) => {
    void queryClient.prefetchQuery(mapQuery(params.key));
    void queryClient.prefetchQuery(taxonomyQuery);
    void queryClient.prefetchQuery(mapReportQuery(params.key, deps.since, deps.until));
    preloadChart();
  },
  component: lazyRouteComponent(() => import("@/pages/maps/MapPage"), "MapPage"),
});

const routeTree = rootRoute.addChildren([
  signInRoute,
  setPasswordRoute,
  studioRoute.addChildren([
    overviewRoute,
    profilesRoute,
    profileRoute,
    quarantineRoute,
    sourcesRoute,
    journeysRoute,
    journeyRoute,
    mapsRoute,
    mapRoute,
  ]),
]);

export function makeRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    basepath: "/ui",
    context: { queryClient },
    defaultPreload: "intent",
    defaultErrorComponent: RouteError,
    // the query cache decides freshness; the router only starts the requests
    defaultPreloadStaleTime: 0,
    scrollRestoration: true,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof makeRouter>;
  }
}
