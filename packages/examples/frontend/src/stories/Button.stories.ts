import type { Meta, StoryObj } from '@storybook/html-vite';
import { createButton } from '@examples/shared-ui';
import '../styles.css';

const meta: Meta<{ label: string }> = {
  title: 'Shared UI/Button',
  render: ({ label }) => createButton(label),
  args: { label: 'Click me' },
};
export default meta;

export const Primary: StoryObj<{ label: string }> = {};
export const LongLabel: StoryObj<{ label: string }> = { args: { label: 'A button with a much longer label' } };
