// App is the shell: navigation, the global time range, and the page the
// URL names.
import { TimePicker } from './components/TimePicker';
import { Link } from './components/Link';
import { Boundary } from './components/Panel';
import { href, match, navigate, useLocation } from './router';
import { ServicesPage } from './pages/Services';
import { ServicePage } from './pages/Service';
import { ServiceMapPage } from './pages/ServiceMap';
import { TracesPage } from './pages/Traces';
import { TracePage } from './pages/Trace';
import { LogsPage } from './pages/Logs';
import { MetricsPage } from './pages/Metrics';
import { CorrelatePage } from './pages/Correlate';
import { AlertsPage } from './pages/Alerts';
import { DashboardPage, DashboardsPage, ImportPage } from './pages/Dashboards';

const nav = [
  ['/services', 'Services'],
  ['/map', 'Service map'],
  ['/traces', 'Traces'],
  ['/logs', 'Logs'],
  ['/query', 'Metrics'],
  ['/dashboards', 'Dashboards'],
  ['/alerts', 'Alerts'],
] as const;

/** App renders the shell and routes the current location to its page. */
export function App() {
  const loc = useLocation();
  const path = loc.path === '/' ? '/services' : loc.path;
  let page;
  let m: Record<string, string> | null;
  if ((m = match('/services/:name', path))) page = <ServicePage name={m.name} />;
  else if (path === '/services') page = <ServicesPage />;
  else if (path === '/map') page = <ServiceMapPage />;
  else if ((m = match('/traces/:id', path))) page = <TracePage id={m.id} />;
  else if (path === '/traces') page = <TracesPage />;
  else if (path === '/logs') page = <LogsPage />;
  else if (path === '/query') page = <MetricsPage />;
  else if (path === '/alerts') page = <AlertsPage />;
  else if (path === '/dashboards') page = <DashboardsPage />;
  else if (path === '/dashboards/import') page = <ImportPage />;
  else if (path.startsWith('/dashboards/')) page = <DashboardPage id={decodeURIComponent(path.slice('/dashboards/'.length))} />;
  else if ((m = match('/correlate/:id', path))) page = <CorrelatePage id={m.id} />;
  else page = <div class="panel error">No page at {loc.path}.</div>;
  return (
    <div class="app">
      <header class="topbar">
        <Link to="/services" class="brand">
          <span class="logo" /> Argus
        </Link>
        <nav>
          {nav.map(([to, label]) => (
            <Link key={to} to={to} class={path.startsWith(to) ? 'active' : ''}>
              {label}
            </Link>
          ))}
        </nav>
        <IDJump />
        <TimePicker />
      </header>
      <main>
        <Boundary key={path}>{page}</Boundary>
      </main>
    </div>
  );
}

/** IDJump opens everything known of a trace or correlation ID. */
function IDJump() {
  return (
    <form
      class="id-jump"
      onSubmit={(e) => {
        e.preventDefault();
        const input = e.currentTarget.elements.namedItem('id') as HTMLInputElement;
        const id = input.value.trim();
        input.value = '';
        if (id) navigate(href(`/correlate/${encodeURIComponent(id)}`));
      }}
    >
      <input name="id" placeholder="Trace or correlation ID" aria-label="Trace or correlation ID" />
    </form>
  );
}
