export { TerminalClient, terminalUrl } from '../../server/src/client/terminal-client.js';
