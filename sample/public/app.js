// The whole client: nestjs-rooms/client's RoomsClient (one module, served by this app at /client/),
// which reconnects by itself and, with the server's connection recovery on, resumes the tab's
// session: its rooms, its name and every message it missed while it was away.
import { RoomsClient } from '/client/index.js';

const $ = (selector) => document.querySelector(selector);

const state = {
  id: '', // this tab's socket id
  name: '',
  joined: new Set(), // public rooms this tab is in
  following: new Set(), // project ids
  rooms: [], // [{ name, members, people: [{ name, tabs }] }], pushed by the server whenever presence changes
  people: [], // [{ id, name }], one entry per tab
};

const client = new RoomsClient(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`);
/** Sent now, or queued while the tab is reconnecting. */
function send(event, data) {
  try {
    client.send(event, data);
  } catch (error) {
    log('error', 'error', error.message);
  }
}

const handlers = {
  welcome({ id }) {
    state.id = id;
  },
  hello({ name }) {
    state.name = name;
    $('#me').textContent = `${name} · ${shortId(state.id)}`;
    $('#name-form').hidden = true;
    $('#app').hidden = false;
    $('#curl').textContent = curlExamples(name);
    renderTargets();
    log('system', '', `Welcome, ${name}. Join a room to chat; pick a person to message them privately.`);
  },
  rooms(list) {
    state.rooms = list;
    renderRooms();
  },
  people(list) {
    state.people = list;
    renderPeople();
    renderTargets();
  },
  joined(room) {
    state.joined.add(room);
    renderRooms();
    renderTargets(`room:${room}`);
    log('system', `#${room}`, 'you joined');
  },
  left(room) {
    state.joined.delete(room);
    renderRooms();
    renderTargets();
    log('system', `#${room}`, 'you left');
  },
  said({ room, text, from }) {
    log('said', `#${room}`, text, from.name);
  },
  whisper({ text, from }) {
    log('whisper', `private from ${from.name}`, text);
  },
  'user joined'({ name, room }) {
    log('system', `#${room}`, `${name} joined`);
  },
  'user left'({ name, rooms }) {
    for (const room of rooms) if (state.joined.has(room)) log('system', `#${room}`, `${name} left`);
  },
  following(project) {
    state.following.add(project);
    renderProjects();
    log('system', `project ${project}`, 'you follow it');
  },
  unfollowed(project) {
    state.following.delete(project);
    renderProjects();
  },
  'project updated'({ id, text }) {
    log('project', `project ${id}`, text);
  },
  notification({ text }) {
    log('notification', `for ${state.name}`, text);
  },
};

for (const [event, handler] of Object.entries(handlers)) client.on(event, handler);
// Exception frames (a refused join, a bad message) and frames the client could not use.
client.on('error', (error) => log('error', 'error', error.message));
let opened = false;
client.on('open', ({ recovered }) => {
  if (opened && !recovered) return location.reload(); // a new session: the page starts over
  setStatus(opened ? 'recovered' : 'connected');
  opened = true;
});
client.on('reconnecting', () => setStatus('reconnecting…', true));
client.on('close', () => {
  if (client.status === 'closed') setStatus('disconnected: reload the page to reconnect', true);
});

// ---- forms ------------------------------------------------------------------------------------

onSubmit('#name-form', ({ name }) => send('hello', { name }));
onSubmit('#room-form', ({ room }) => send('join', { room }));
onSubmit('#project-form', ({ project }) => send('follow', { project }));
onSubmit('#say-form', ({ to, text }) => {
  if (!to || !text.trim()) return;
  const [kind, target] = splitTarget(to);
  if (kind === 'room') {
    send('say', { room: target, text });
    log('mine', `#${target}`, text, 'you');
  } else {
    send('whisper', { to: target, text });
    log('mine whisper', `private to ${nameOf(target)}`, text, 'you');
  }
});

function onSubmit(selector, submit) {
  const form = $(selector);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(Object.fromEntries(new FormData(form)));
    for (const input of form.querySelectorAll('input')) input.value = '';
  });
}

// ---- rendering --------------------------------------------------------------------------------

function renderRooms() {
  $('#rooms').replaceChildren(
    ...state.rooms.map(({ name, members, people }) => {
      const inRoom = state.joined.has(name);
      return element('li', { className: inRoom ? 'joined' : '', dataset: { room: name } }, [
        element('button', { className: 'link', onclick: () => inRoom && choose(`room:${name}`) }, `# ${name}`),
        element('span', { className: 'count', title: 'members' }, String(members)),
        element(
          'button',
          { className: 'small', onclick: () => send(inRoom ? 'leave' : 'join', { room: name }) },
          inRoom ? 'Leave' : 'Join',
        ),
        // Who is here, from presence: one line per person, however many tabs they have open.
        element(
          'ul',
          { className: 'present' },
          people.map((person) =>
            element('li', { dataset: { person: person.name } }, [
              element('span', { className: 'name' }, person.name),
              person.tabs > 1 ? element('span', { className: 'tabs' }, `${person.tabs} tabs`) : '',
            ]),
          ),
        ),
      ]);
    }),
  );
}

function renderPeople() {
  $('#people').replaceChildren(
    ...state.people.map(({ id, name }) => {
      const me = id === state.id;
      return element('li', { className: me ? 'me' : '', dataset: { id } }, [
        element('button', { className: 'link', disabled: me, onclick: () => choose(`id:${id}`) }, name),
        element('code', { title: id }, me ? 'you' : shortId(id)),
      ]);
    }),
  );
}

function renderProjects() {
  $('#projects').replaceChildren(
    ...[...state.following]
      .sort()
      .map((project) =>
        element('li', { dataset: { project } }, [
          element('span', { className: 'name' }, `project ${project}`),
          element('button', { className: 'small', onclick: () => send('unfollow', { project }) }, 'Unfollow'),
        ]),
      ),
  );
}

/** The "send to" choices: the rooms this tab is in, then every other tab by socket id. */
function renderTargets(preferred) {
  const select = $('#say-form select');
  const current = preferred ?? select.value;
  const options = [
    ...[...state.joined].sort().map((room) => element('option', { value: `room:${room}` }, `# ${room}`)),
    ...state.people
      .filter(({ id }) => id !== state.id)
      .map(({ id, name }) => element('option', { value: `id:${id}` }, `${name} · ${shortId(id)} (private)`)),
  ];
  const nobody = options.length === 0;
  select.replaceChildren(...(nobody ? [element('option', { value: '' }, 'join a room first')] : options));
  if (options.some((option) => option.value === current)) select.value = current;
  select.disabled = nobody;
  $('#say-form button').disabled = nobody;
}

function choose(target) {
  renderTargets(target);
  $('#say-form input[name=text]').focus();
}

function log(kind, where, text, who) {
  const list = $('#log');
  const time = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  list.append(
    element('li', { className: kind }, [
      element('time', {}, time),
      element('span', { className: 'where' }, where),
      who ? element('b', { className: 'who' }, who) : '',
      element('span', { className: 'text' }, text),
    ]),
  );
  list.scrollTop = list.scrollHeight;
}

function setStatus(text, broken = false) {
  const status = $('#status');
  status.textContent = text;
  status.classList.toggle('broken', broken);
}

function element(tag, { dataset = {}, ...properties }, children = []) {
  const node = Object.assign(document.createElement(tag), properties);
  Object.assign(node.dataset, dataset);
  node.append(...[children].flat());
  return node;
}

function splitTarget(value) {
  const colon = value.indexOf(':');
  return [value.slice(0, colon), value.slice(colon + 1)];
}

function nameOf(id) {
  return state.people.find((person) => person.id === id)?.name ?? shortId(id);
}

function shortId(id) {
  return id.slice(0, 4);
}

function curlExamples(name) {
  const json = `\\\n  -H 'content-type: application/json' -d '{"text":"hello"}'`;
  return [
    `# every tab of ${name}`,
    `curl -X POST ${location.origin}/users/${encodeURIComponent(name)}/notify ${json}`,
    '',
    '# everyone following project 42',
    `curl -X POST ${location.origin}/projects/42/notify ${json}`,
  ].join('\n');
}
