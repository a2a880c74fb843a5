package resource

import (
	"reflect"
	"testing"

	"github.com/argus-obs/argus/internal/model"
)

func TestLabelsRoundTrip(t *testing.T) {
	for _, res := range []model.Resource{
		{ServiceName: "shop"},
		{ServiceName: "shop", Attributes: []model.Attribute{model.String("host.name", "a"), model.String("k8s.pod.name", "p")}},
		{ServiceName: "shop", Attributes: []model.Attribute{model.String("host.name", "a"), model.Int("process.pid", 42), model.Bool("b", true)}},
	} {
		labels := Labels(&res)
		if got := ServiceName(labels); got != res.ServiceName {
			t.Errorf("ServiceName = %q, want %q", got, res.ServiceName)
		}
		if got := FromLabels(labels); !reflect.DeepEqual(got, res) {
			t.Errorf("round trip of %+v gave %+v", res, got)
		}
		if !Same(&res, &res) {
			t.Errorf("resource not Same as itself")
		}
	}
	if Same(&model.Resource{ServiceName: "a"}, &model.Resource{ServiceName: "b"}) {
		t.Error("different services are Same")
	}
	if ServiceName(nil) != "" {
		t.Error("ServiceName of no labels is not empty")
	}
}
