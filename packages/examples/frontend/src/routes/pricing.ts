const plans = [
  { name: 'Starter', price: '$0' },
  { name: 'Team', price: '$20' },
];

export function renderPricing(main: HTMLElement): void {
  main.innerHTML = `<h1>Pricing</h1><ul>${plans.map((p) => `<li>${p.name}: ${p.price}</li>`).join('')}</ul>`;
}
