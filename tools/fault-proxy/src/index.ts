export {
  startFaultProxy,
  FAULT_KINDS,
  type FaultKind,
  type FaultProxy,
  type FaultProxyOptions,
  type RequestInfo,
} from './proxy';
