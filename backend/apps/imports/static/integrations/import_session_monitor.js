// Live ImportSession rows: while any session on the page is pending or in progress, ask the
// admin's JSON endpoint every few seconds and copy the new values into the page in place.
// The server formats every text (the page's own, translated, in data-text-* attributes);
// this script only finds elements by data-import-session /
// data-field and stops polling as soon as nothing is active.
(function () {
  "use strict";

  var ACTIVE = ["pending", "in_progress"];
  var MAX_FAILURES = 5;

  function sessionElements(id) {
    return document.querySelectorAll('[data-import-session="' + id + '"]');
  }

  function activeIdsOnPage() {
    var ids = [];
    document.querySelectorAll('[data-field="status"][data-import-session]').forEach(function (el) {
      if (ACTIVE.indexOf(el.dataset.status) !== -1 && ids.indexOf(el.dataset.importSession) === -1) {
        ids.push(el.dataset.importSession);
      }
    });
    return ids;
  }

  function applyStatus(el, session) {
    el.dataset.status = session.status;
    el.className = "import-status import-status--" + session.outcome;
    el.textContent = session.text.status;
  }

  function applyProgress(el, session) {
    var percent = session.percent === null ? 0 : session.percent;
    el.setAttribute("aria-valuenow", String(percent));
    el.classList.toggle("import-progress--unknown", session.percent === null);
    el.querySelector(".import-progress__bar").style.width = percent + "%";
    el.querySelector(".import-progress__label").textContent = session.text.progress;
  }

  function applyPrefectLink(el, session) {
    if (!session.prefect_url) {
      el.textContent = session.text.prefect;
      return;
    }
    var link = document.createElement("a");
    link.href = session.prefect_url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = session.text.prefect;
    el.replaceChildren(link);
    el.removeAttribute("title");
  }

  function applySession(session) {
    sessionElements(session.id).forEach(function (el) {
      var field = el.dataset.field;
      if (field === "status") {
        applyStatus(el, session);
      } else if (field === "progress") {
        applyProgress(el, session);
      } else if (field === "prefect") {
        applyPrefectLink(el, session);
      } else if (Object.prototype.hasOwnProperty.call(session.text, field)) {
        el.textContent = session.text[field];
      }
    });
  }

  function start(root) {
    var url = root.dataset.url;
    var interval = Number(root.dataset.interval) || 2000;
    var reloadWhenDone = root.dataset.reloadWhenDone === "true";
    var notice = root.querySelector(".import-monitor__notice");
    var failures = 0;

    function say(text) {
      notice.textContent = text;
      notice.hidden = !text;
    }

    function poll() {
      var watched = activeIdsOnPage();
      var query = watched.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
      fetch(url + (query ? "?" + query : ""), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          var unseen = [];
          data.sessions.forEach(function (session) {
            if (sessionElements(session.id).length) {
              applySession(session);
            } else if (session.is_active && !reloadWhenDone) {
              unseen.push("#" + session.id);
            }
          });
          say(unseen.length ? root.dataset.textStarted.replace("{sessions}", unseen.join(", ")) : "");
          var finishedHere = watched.length && !activeIdsOnPage().length;
          if (finishedHere && reloadWhenDone) {
            window.location.reload();
          } else if (data.active || activeIdsOnPage().length) {
            window.setTimeout(poll, interval);
          }
        })
        .catch(function (error) {
          failures += 1;
          if (failures >= MAX_FAILURES) {
            say(root.dataset.textStopped.replace("{error}", error.message));
          } else {
            window.setTimeout(poll, interval * failures);
          }
        });
    }

    if (activeIdsOnPage().length) {
      window.setTimeout(poll, interval);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("import-session-monitor");
    if (root && root.dataset.url) {
      start(root);
    }
  });
})();
