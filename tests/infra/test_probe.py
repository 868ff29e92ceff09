import json
def test_probe(stack, example, synthesis):
    print(json.dumps(example.json, indent=1)[:200])
    open("/tmp/example.json","w").write(json.dumps(example.json, indent=1))
    open("/tmp/stack.json","w").write(json.dumps(stack.json, indent=1))
    print(synthesis.validation_report())
