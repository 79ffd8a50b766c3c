import { BRAND, createButton, createNav } from '@examples/shared-ui';
import logoUrl from './logo.svg';
import './styles.css';

const links = [
  { href: '/', label: 'Home' },
  { href: '/about', label: 'About' },
  { href: '/pricing', label: 'Pricing' },
];

type Render = (main: HTMLElement) => void | Promise<void>;

const routes: Record<string, Render> = {
  '/': (main) => {
    main.innerHTML = `<h1>Welcome to ${BRAND}</h1><p>Shipped to S3 + CloudFront by nx-aws-deploy.</p>`;
    main.append(createButton('Say hello', () => alert('hello')));
  },
  '/about': (main) => {
    main.innerHTML = '<h1>About</h1><p>Only the files that changed are uploaded and invalidated.</p>';
  },
  // A lazily loaded route: its own content-hashed chunk.
  '/pricing': async (main) => (await import('./routes/pricing')).renderPricing(main),
};

async function render(): Promise<void> {
  const app = document.querySelector<HTMLDivElement>('#app')!;
  const path = window.location.pathname.replace(/\/+$/, '') || '/';
  const header = document.createElement('header');
  const logo = document.createElement('img');
  logo.src = logoUrl;
  logo.alt = BRAND;
  logo.width = 32;
  header.append(logo, createNav(links, path));
  const main = document.createElement('main');
  app.replaceChildren(header, main);
  const route = routes[path];
  if (route) await route(main);
  else main.innerHTML = `<h1>Not found</h1><p>No page at ${path.replace(/[<>&]/g, '')}.</p>`;
}

document.addEventListener('click', (event) => {
  const link = (event.target as HTMLElement).closest('a');
  if (link && link.origin === window.location.origin) {
    event.preventDefault();
    history.pushState(null, '', link.pathname);
    void render();
  }
});
window.addEventListener('popstate', () => void render());
void render();
