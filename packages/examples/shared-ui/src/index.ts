export interface NavLink {
  href: string;
  label: string;
}

/** A button element styled by the shared stylesheet. */
export function createButton(label: string, onClick?: () => void): HTMLButtonElement {
  const button = document.createElement('button');
  button.className = 'ui-button';
  button.textContent = label;
  if (onClick) button.addEventListener('click', onClick);
  return button;
}

/** The site navigation, marking the link of the current path. */
export function createNav(links: NavLink[], currentPath: string): HTMLElement {
  const nav = document.createElement('nav');
  nav.className = 'ui-nav';
  for (const link of links) {
    const a = document.createElement('a');
    a.href = link.href;
    a.textContent = link.label;
    if (link.href === currentPath) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }
  return nav;
}

export const BRAND = 'Acme Frontend';
