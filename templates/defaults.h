/*
 * defaults.h - the default templates, embedded in the binary at build time
 * from templates/NAME.mustache by scripts/embed-templates.sh.
 */
#ifndef AMR_TEMPLATES_DEFAULTS_H
#define AMR_TEMPLATES_DEFAULTS_H

struct default_template {
    const char *name; /* file name without .mustache, e.g. "slack_text" */
    const char *text;
};

/* Ends with a {NULL, NULL} entry. */
extern const struct default_template default_templates[];
extern const unsigned default_templates_count;

#endif
