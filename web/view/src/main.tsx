import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './style.css';
import { RunPage } from './run-page';
import { RunsPage } from './runs-page';
import { interceptLinks, routeOf, useLocation } from './router';
import { ComparePage, ItemPage } from './side-page';
import { TaskPage } from './task-page';
import { TasksPage } from './tasks-page';

function App() {
  const url = useLocation();
  const route = routeOf(url);
  useEffect(() => window.scrollTo(0, 0), [url.pathname]);
  switch (route.page) {
    case 'runs':
      return <RunsPage />;
    case 'run':
      return <RunPage key={route.runId} runId={route.runId} />;
    case 'tasks':
      return <TasksPage key={route.runId} runId={route.runId} params={route.params} />;
    case 'task':
      return <TaskPage key={`${route.runId}/${route.ord}`} runId={route.runId} ord={route.ord} />;
    case 'item':
      return <ItemPage key={`${route.runId}/${route.item}`} runId={route.runId} item={route.item} />;
    case 'compare':
      return <ComparePage key={`${route.a}/${route.b}/${route.item}`} a={route.a} b={route.b} item={route.item} />;
    case 'missing':
      return (
        <main>
          <h1>Not found</h1>
          <p>
            Nothing at this address. <a href="/">All runs</a>
          </p>
        </main>
      );
  }
}

interceptLinks();
render(<App />, document.getElementById('app')!);
