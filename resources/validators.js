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

  /** One of `values`, or a `${NAME}` reference. */
  function oneOf(values) {
    return orEnv(function (v) {
      return values.indexOf(v) >= 0;
    });
  }

  /** Addresses or CIDRs separated by commas or spaces (checked fully by the node), or a `${NAME}` reference. */
  function cidrs() {
    return orEnv(function (v) {
      return v === undefined || (typeof v === 'string' && /^[0-9A-Fa-f:./,\s]*$/.test(v));
    });
  }

  /** Port numbers separated by commas or spaces, or a `${NAME}` reference. */
  function ports() {
    return orEnv(function (v) {
      if (v === undefined) return true;
      var s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string') return false;
      var parts = s.split(/[\s,]+/).filter(function (p) { return p !== ''; });
      return parts.every(function (p) { return /^\d{1,5}$/.test(p) && +p >= 1 && +p <= 65535; });
    });
  }

  /**
   * Text, or a `${NAME}` reference. opts: pattern (regular expression
   * source the whole text must match; blank always passes: it means unset),
   * maxLength.
   */
  function text(opts) {
    var o = opts || {};
    var re = o.pattern !== undefined ? new RegExp('^(?:' + o.pattern + ')$') : null;
    return orEnv(function (v) {
      if (v === undefined || v === '') return true;
      if (typeof v !== 'string') return false;
      if (o.maxLength !== undefined && v.length > o.maxLength) return false;
      return !re || re.test(v);
    });
  }

  /** Blank or JSON text (the node checks what it holds), or a `${NAME}` reference. */
  function json() {
    return orEnv(function (v) {
      if (v === undefined || v === '' || (typeof v === 'string' && v.trim() === '')) return true;
      if (typeof v !== 'string') return typeof v === 'object';
      try {
        JSON.parse(v);
        return true;
      } catch {
        return false;
      }
    });
  }

  root.ipsValidators = { isEnvRef: isEnvRef, orEnv: orEnv, number: number, oneOf: oneOf, cidrs: cidrs, ports: ports, text: text, json: json };
})(typeof window !== 'undefined' ? window : this);
