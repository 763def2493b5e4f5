/** Takes, backends and jobs as the API sends them, for the workspace tests. */

import type { Backend, Job, Media, Take } from '../../api/types';

export const media = (fields: Partial<Media> = {}): Media => ({
  id: 'm1',
  status: 'ready',
  error: '',
  kind: 'video',
  url: '/media/m1/source.mp4',
  proxy_url: '/media/m1/proxy.mp4',
  thumbnail_url: '/media/m1/thumb.jpg',
  filmstrip_url: null,
  filmstrip_frames: null,
  duration_seconds: 2,
  fps: 24,
  fps_num: 24,
  fps_den: 1,
  frame_count: 48,
  width: 320,
  height: 180,
  has_audio: false,
  size: 1000,
  original_name: 'clip.mp4',
  content_type: 'video/mp4',
  ...fields,
});

export const take = (id: string, number: number, fields: Partial<Take> = {}): Take => ({
  id,
  shot: 'sh1',
  number,
  source: 'generation',
  status: 'ready',
  error: '',
  review_state: 'draft',
  is_pick: false,
  media: media({ id: `m-${id}` }),
  provenance: {
    source: 'generation',
    backend: 'local-animatic',
    backend_title: 'Animatic (local)',
    model: 'title-card',
    kind: 'text_to_video',
    prompt: 'a lighthouse at dusk, expanded',
    original_prompt: 'a lighthouse at dusk',
    negative_prompt: 'people',
    seed: 43,
    duration_frames: 48,
    params: { style: 'ink' },
  },
  cost: '0',
  author: { id: 3, username: 'ana' },
  reviewed_by: null,
  reviewed_at: null,
  parent: null,
  comment_count: 0,
  created_at: '2026-01-01T00:00:00Z',
  kind: 'text_to_video',
  medium: 'video',
  seed: 43,
  ...fields,
});

const model = (name: string, kinds: string[]) => ({
  name,
  title: name,
  kinds,
  durations: null,
  min_seconds: null,
  max_seconds: null,
  max_variations: 4,
  estimated_cost: { per_second: '0', per_output: '0' },
});

const backend = (name: string, kinds: string[], models: string[], fields: Partial<Backend> = {}): Backend => ({
  name,
  title: name,
  kinds,
  models: models.map((m) => model(m, kinds)),
  configured: true,
  available: true,
  reason: '',
  is_local: true,
  needs_credentials: false,
  accepts_references: false,
  ...fields,
});

export const BACKENDS: Backend[] = [
  backend('local-animatic', ['text_to_video', 'image_to_video', 'text_to_image', 'video_extend'], ['title-card']),
  backend('local-upscale', ['upscale'], ['lanczos-sharpen']),
  backend('local-interpolate', ['interpolate'], ['motion', 'fps-convert']),
  backend('local-speech', ['speech'], ['espeak'], {
    voices: [
      { id: 'en-gb', name: 'British English', language: 'en' },
      { id: 'de', name: 'German', language: 'de' },
    ],
  }),
];

export const job = (fields: Partial<Job> = {}): Job => ({
  id: 'j1',
  project: 'p1',
  shot: 'sh1',
  author: { id: 3, username: 'ana' },
  backend: 'local-upscale',
  model: 'lanczos-sharpen',
  kind: 'upscale',
  state: 'running',
  progress: 0,
  error: '',
  variations: 1,
  prompt: '',
  seed: null,
  estimated_cost: '0',
  actual_cost: null,
  currency: 'USD',
  cancel_requested: false,
  takes: [],
  created_at: '2026-01-01T00:00:00Z',
  ...fields,
});
