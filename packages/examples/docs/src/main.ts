import { BRAND, createNav } from '@examples/shared-ui';
import './styles.css';

// The pages are plain HTML; the shared navigation comes from the same library the app uses.
const links = [
  { href: '/', label: `${BRAND} Docs` },
  { href: '/guide/', label: 'Guide' },
];
document.querySelector('header')!.append(createNav(links, window.location.pathname));
