import type { Meta, StoryObj } from '@storybook/html-vite';
import { createNav } from '@examples/shared-ui';
import '../styles.css';

const meta: Meta<{ current: string }> = {
  title: 'Shared UI/Nav',
  render: ({ current }) =>
    createNav(
      [
        { href: '/', label: 'Home' },
        { href: '/about', label: 'About' },
      ],
      current,
    ),
  args: { current: '/' },
};
export default meta;

export const Home: StoryObj<{ current: string }> = {};
