// Editor-side validators shared by the nodes of node-red-contrib-ips. Node-RED
// serves this file at resources/node-red-contrib-ips/validators.js and loads it
// (a <script src> in each node's .html) before the registerType calls run.
//
// As with core RED.validators.number(), a field may instead hold an
// environment variable reference `${NAME}` (the tab's or the process's, put in
// at deploy): the shipped flows configure queue numbers, files and interfaces
// that way. The value it names is checked by the node when it starts.
/* global window */
(function (root) {
  'use strict';
  if (root.ipsValidators) return; // every node's .html loads this file
  // the same form core RED.validators.number() accepts
  var ENV_REF = /^\$\{[^}]+\}$/;
  var DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  function isEnvRef(v) {
    return typeof v === 'string' && ENV_REF.test(v);
  }

  /** `check`, or a `${NAME}` reference. */
  function orEnv(check) {
    return function (v, opt) {
      return isEnvRef(v) || check.call(this, v, opt);
    };
  }

  /**
   * A decimal number, or a `${NAME}` reference.
   * opts: min, max, integer, exclusiveMin (value must be above min),
   * blank (empty means the node's default).
   */
  function number(opts) {
    var o = opts || {};
    return orEnv(function (v) {
      var s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
      if (s === '') return !!o.blank && (v === '' || v === undefined);
      if (!DECIMAL.test(s)) return false;
      var n = Number(s);
      if (!isFinite(n) || (o.integer && !Number.isInteger(n))) return false;
      if (o.min !== undefined && (o.exclusiveMin ? n <= o.min : n < o.min)) return false;
      return o.max === undefined || n <= o.max;
    });
  }

  root.ipsValidators = { isEnvRef: isEnvRef, orEnv: orEnv, number: number };
})(typeof window !== 'undefined' ? window : this);
