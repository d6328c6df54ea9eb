/*
 * json_add_new: add a member known to be new, under a key that is a string
 * constant. json-c then neither copies the key nor looks for an older
 * member of that name: a status of 1,000 VMs builds 20,000 such members
 * (issue 20). Only for literal keys added once per object.
 */
#ifndef VMS_JSON_ADD_H
#define VMS_JSON_ADD_H
#include <json-c/json.h>

static inline void
json_add_new(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add_ex(o, key, v,
	    JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}
#endif
