import "@mantine/core/styles.css";
import "@mantine/dates/styles.css";
import "./app/studio.css";
import { type CSSVariablesResolver, MantineProvider } from "@mantine/core";
import { DatesProvider } from "@mantine/dates";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { onSessionEnded } from "./api/auth";
import { sessionQuery } from "./api/queries";
import { queryClient } from "./app/queryClient";
import { makeRouter } from "./app/router";
import { theme } from "./app/theme";
import { initI18n, useLanguage } from "./i18n";

const router = makeRouter(queryClient);

// Mantine's dimmed grey is below WCAG AA on white for small text; this one is 6.4:1
const cssVariables: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": "#5b6470" },
  dark: {},
});

// a 401 anywhere: the session has ended (signed out elsewhere, expired, token revoked)
onSessionEnded(() => {
  queryClient.setQueryData(sessionQuery.queryKey, null);
  const here = router.state.location.href;
  if (router.state.location.pathname !== "/sign-in") {
    void router.navigate({ to: "/sign-in", search: { next: here } });
  }
});

function Studio() {
  const language = useLanguage();
  return (
    <MantineProvider theme={theme} defaultColorScheme="light" cssVariablesResolver={cssVariables}>
      <DatesProvider settings={{ locale: language === "de" ? "de" : "en-gb", firstDayOfWeek: 1 }}>
        <QueryClientProvider client={queryClient}>
          <RouterProvider router={router} />
        </QueryClientProvider>
      </DatesProvider>
    </MantineProvider>
  );
}

await initI18n();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Studio />
  </StrictMode>,
);
