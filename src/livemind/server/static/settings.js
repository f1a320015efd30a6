// The session's settings controls, built from the schema the server sends in
// session.created (each live SessionConfig field: name, type, label, help, choices,
// default, min, max). No setting is hard-coded on the page.
class SettingsPanel {
  constructor(form, box) {
    this.form = form;    // the <form> whose elements carry the values
    this.box = box;      // where the controls go
    this.schema = new Map();  // setting name -> its schema entry
  }

  build(schema) {
    this.schema = new Map(schema.map((s) => [s.name, s]));
    this.box.replaceChildren();
    for (const s of schema) {
      const label = document.createElement("label");
      if (s.type === "bool") label.className = "check";
      const shown = s.type === "bool" ? (s.default ? "on" : "off") : s.default;
      label.title = `${s.help} (default ${shown})`;
      const control = this.control(s);
      if (s.type === "bool") label.append(control, ` ${s.label}`);
      else label.append(s.label, control);
      control.name = s.name;
      this.box.append(label);
    }
  }

  control(s) {
    if (s.type === "bool") {
      const box = document.createElement("input");
      box.type = "checkbox";
      return box;
    }
    if (s.choices) {
      const select = document.createElement("select");
      for (const choice of s.choices) select.append(new Option(choice, choice));
      return select;
    }
    const number = document.createElement("input");
    number.type = "number";
    number.step = s.type === "int" ? "1" : "any";
    if (s.min !== null) number.min = s.min;
    if (s.max !== null) number.max = s.max;
    return number;
  }

  // Put the session's current values into the controls.
  show(cfg) {
    for (const [name, s] of this.schema) {
      const f = this.form.elements[name];
      if (!f || !(name in cfg)) continue;
      if (s.type === "bool") f.checked = !!cfg[name];
      else f.value = cfg[name];
    }
  }

  // The value of a changed control, typed as its setting wants it.
  value(control) {
    const kind = this.schema.get(control.name)?.type;
    if (control.type === "checkbox") return control.checked;
    return kind === "int" || kind === "float" ? Number(control.value) : control.value;
  }
}
